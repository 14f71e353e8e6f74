// Admission decisions: the backlog, reserved_connections, placement and worker choice.
import { describe, expect, it } from 'vitest';
import { admitOnAccept, backlogFor, chooseWorker, leastLoaded, placeClient } from '../../../src/policy/admission.js';

const limits = { num_init_children: 4, reserved_connections: 0, listen_backlog_multiplier: 2 };

describe('admission', () => {
  it('uses min(num_init_children × listen_backlog_multiplier, 10000) as the backlog', () => {
    expect(backlogFor(limits)).toBe(8);
    expect(backlogFor({ ...limits, num_init_children: 3000, listen_backlog_multiplier: 5 })).toBe(10000);
  });

  it('refuses at once beyond num_init_children − reserved_connections', () => {
    const cfg = { ...limits, reserved_connections: 1 };
    expect([0, 1, 2, 3, 4].map((c) => admitOnAccept(c, cfg))).toEqual([
      'accept',
      'accept',
      'accept',
      'reject-reserved',
      'reject-reserved',
    ]);
    expect(admitOnAccept(100, limits)).toBe('accept');
  });

  it('dispatches to a free child, keeps first-come-first-served order, and caps the line', () => {
    expect(placeClient(1, 0, limits)).toBe('dispatch');
    expect(placeClient(1, 2, limits)).toBe('wait'); // others were first
    expect(placeClient(0, 7, limits)).toBe('wait');
    expect(placeClient(0, 8, limits)).toBe('reject-queue-full');
  });

  it('chooses the worker with the most free children, and hosts new children in the least loaded', () => {
    expect(chooseWorker([0, 2, 3, 1])).toBe(2);
    expect(chooseWorker([0, 0])).toBe(-1);
    expect(leastLoaded([3, 2, 2])).toBe(1);
  });
});
