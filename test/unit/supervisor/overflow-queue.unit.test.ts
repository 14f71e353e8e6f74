// The overflow queue: first come first served, a handed-back client first, leavers removed.
import { describe, expect, it } from 'vitest';
import { OverflowQueue } from '../../../src/supervisor/overflow-queue.js';

describe('OverflowQueue', () => {
  it('serves in arrival order, puts a returned client first, and forgets those who leave', () => {
    const q = new OverflowQueue<string>();
    for (const c of ['a', 'b', 'c']) q.push(c);
    expect(q.remove('b')).toBe(true);
    expect(q.remove('b')).toBe(false);
    q.pushFront('back');
    expect([q.length, q.shift(), q.shift()]).toEqual([3, 'back', 'a']);
    q.push('d');
    expect(q.drain()).toEqual(['c', 'd']);
    expect([q.length, q.shift()]).toEqual([0, undefined]);
  });
});
