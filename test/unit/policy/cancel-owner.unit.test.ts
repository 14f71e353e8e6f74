// A cancel key names its worker in its first two bytes, modulo worker_processes.
import { describe, expect, it } from 'vitest';
import { keyPrefixNaming, workerOfCancelKey } from '../../../src/policy/cancel-owner.js';

describe('cancel key owner', () => {
  it.each([
    [0x0000, 0, 1],
    [0x1234, 1, 2],
    [0xffff, 0, 2],
    [0xffff, 2, 3],
    [0xfffe, 1023, 1024],
    [0x0001, 5, 7],
  ])('prefix %i names worker %i of %i, and stays two bytes', (random, worker, count) => {
    const prefix = keyPrefixNaming(random, worker, count);
    expect(prefix).toBeGreaterThanOrEqual(0);
    expect(prefix).toBeLessThanOrEqual(0xffff);
    expect(Math.abs(prefix - random)).toBeLessThan(count);
    const bytes = Uint8Array.of(prefix >> 8, prefix & 0xff, 9, 9);
    expect(workerOfCancelKey(bytes, count)).toBe(worker);
    expect(workerOfCancelKey(Buffer.from(bytes).toString('hex'), count)).toBe(worker);
  });

  it('a key too short to name anyone goes to worker 0', () => {
    expect(workerOfCancelKey('', 4)).toBe(0);
    expect(workerOfCancelKey('zz', 4)).toBe(0);
  });
});
