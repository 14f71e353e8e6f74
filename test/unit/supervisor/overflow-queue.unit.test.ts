// The overflow queue: first come first served, a handed-back client first, leavers removed,
// and the first that may pass taken (administrators past those the reservation holds back).
import { describe, expect, it } from 'vitest';
import { OverflowQueue } from '../../../src/supervisor/overflow-queue.js';

describe('OverflowQueue', () => {
  it('serves in arrival order, puts a returned client first, and forgets those who leave', () => {
    const q = new OverflowQueue<string>();
    for (const c of ['a', 'b', 'c']) q.push(c);
    expect(q.remove('b')).toBe(true);
    expect(q.remove('b')).toBe(false);
    q.pushFront('back');
    expect([q.length, q.takeFirst(() => true), q.takeFirst(() => true)]).toEqual([3, 'back', 'a']);
    q.push('d');
    expect(q.drain()).toEqual(['c', 'd']);
    expect([q.length, q.takeFirst(() => true)]).toEqual([0, undefined]);
  });

  it('takes the first that may pass, leaving the others in order', () => {
    const q = new OverflowQueue<string>();
    for (const c of ['a', 'admin1', 'b', 'admin2']) q.push(c);
    const admin = (c: string) => c.startsWith('admin');
    expect([q.takeFirst(admin), q.takeFirst(admin), q.takeFirst(admin)]).toEqual(['admin1', 'admin2', undefined]);
    expect(q.drain()).toEqual(['a', 'b']);
  });
});
