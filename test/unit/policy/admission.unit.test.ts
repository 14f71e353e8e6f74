// Admission decisions: the backlog, reserved_connections, placement and worker choice.
import { describe, expect, it } from 'vitest';
import {
  admitOnAccept,
  backlogFor,
  listenBacklog,
  chooseWorker,
  leastLoaded,
  ordinaryMayTake,
  placeClient,
  reservedChildren,
  txClientTarget,
  clientShare,
} from '../../../src/policy/admission.js';

const limits = {
  num_init_children: 4,
  reserved_connections: 0,
  listen_backlog_multiplier: 2,
  admin_reserved_children: 0,
};
/** num_init_children 3, one child for admin_users (the example). */
const admin = { ...limits, num_init_children: 3, admin_reserved_children: 1 };
const place = (free: number, waiting: number, ordinaryHolding = 0, isAdmin = false) => ({
  free,
  waiting,
  ordinaryHolding,
  admin: isAdmin,
});

describe('admission', () => {
  it('uses min(num_init_children × listen_backlog_multiplier, 10000) as the backlog', () => {
    expect(backlogFor(limits)).toBe(8);
    expect(backlogFor({ ...limits, num_init_children: 3000, listen_backlog_multiplier: 5 })).toBe(10000);
  });

  it.each([
    ['session', 10000, 8],
    ['transaction', 10000, 10000],
    ['transaction', 3, 8],
    ['transaction', 100000, 65535],
  ] as const)('listens with a backlog for %s mode, max_client_conn %i: %i', (mode, clients, want) =>
    expect(listenBacklog({ ...limits, pool_mode: mode, max_client_conn: clients })).toBe(want),
  );

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
    expect(placeClient(place(1, 0), limits)).toBe('dispatch');
    expect(placeClient(place(1, 2), limits)).toBe('wait'); // others were first
    expect(placeClient(place(0, 7), limits)).toBe('wait');
    expect(placeClient(place(0, 8), limits)).toBe('reject-queue-full');
    // Transaction mode (workers not listening yet, at start): the line is not the bound.
    expect(placeClient(place(0, 8), { ...limits, pool_mode: 'transaction' })).toBe('wait');
    // Without reserved children, what others hold does not matter.
    expect(placeClient(place(1, 0, 3), limits)).toBe('dispatch');
  });

  it('admin_reserved_children: others hold at most num_init_children − reserved, administrators pass the line', () => {
    const cases: Array<[ReturnType<typeof place>, string]> = [
      [place(3, 0, 0), 'dispatch'],
      [place(2, 0, 1), 'dispatch'],
      [place(1, 0, 2), 'wait'], // the free child is the reserved one
      [place(1, 0, 2, true), 'dispatch'], // an administrator takes it
      [place(1, 4, 2, true), 'dispatch'], // ahead of everyone waiting
      [place(0, 0, 2, true), 'wait'], // every child busy: even an administrator waits
      [place(0, 6, 2, true), 'wait'], // and is never refused for a full line
      [place(0, 6, 2), 'read-first'], // the full line refuses only once the client is known
    ];
    for (const [v, want] of cases) expect([v, placeClient(v, admin)]).toEqual([v, want]);
    expect([0, 1, 2, 3].map((n) => ordinaryMayTake(n, admin))).toEqual([true, true, false, false]);
    expect(ordinaryMayTake(99, limits)).toBe(true);
  });

  it('reserved_connections counts only the unreserved children, and reads a client before refusing it', () => {
    const cfg = { ...admin, num_init_children: 4, reserved_connections: 1 };
    expect([0, 1, 2, 3].map((c) => admitOnAccept(c, cfg))).toEqual(['accept', 'accept', 'read-first', 'read-first']);
  });

  it('marks reserved the children serving administrators first, then idle ones by highest id', () => {
    const c = (id: number, busy: boolean, isAdmin = false) => ({ id, busy, admin: isAdmin });
    const two = { ...admin, num_init_children: 5, admin_reserved_children: 2 };
    expect([...reservedChildren([c(1, true), c(2, false), c(3, false), c(4, true)], two)]).toEqual([3, 2]);
    expect([...reservedChildren([c(1, true, true), c(2, false), c(3, false), c(4, true)], two)]).toEqual([1, 3]);
    // Administrators beyond the reservation hold ordinary children.
    expect([...reservedChildren([c(1, true, true), c(2, true, true), c(3, true, true)], two)]).toEqual([1, 2]);
    expect(reservedChildren([c(1, false)], limits).size).toBe(0);
  });

  it('chooses the worker with the most free children, and hosts new children in the least loaded', () => {
    expect(chooseWorker([0, 2, 3, 1])).toBe(2);
    expect(chooseWorker([0, 0])).toBe(-1);
    expect(leastLoaded([3, 2, 2])).toBe(1);
  });

  it.each<[string, number[], number, number | undefined]>([
    ['the worker with the most room in its share', [5, 2, 3], 12, 1],
    ['the first of equals', [2, 2], 10, 0],
    ['refused when all shares are full', [5, 5], 10, undefined],
    ['refused when together they hold it (counts reported late)', [7, 3], 10, undefined],
    ['room left in one share', [5, 4], 10, 1],
    ['none in a share beyond its size', [6, 3], 11, 1],
    ['no worker', [], 10, undefined],
  ])('transaction mode places a client a full worker handed back: %s', (_name, counts, max, want) =>
    expect(txClientTarget(counts, max)).toBe(want),
  );

  it('splits max_client_conn into shares that add up to it', () => {
    expect([0, 1, 2].map((w) => clientShare(w, 3, 10))).toEqual([4, 3, 3]);
    expect([0, 1].map((w) => clientShare(w, 2, 10000))).toEqual([5000, 5000]);
    expect(clientShare(0, 1, 7)).toBe(7);
  });
});
