// Transaction mode's client count as the supervisor learns it: every change may wait
// (batched), except the one that gives a worker that had its share of max_client_conn room
// again, which the supervisor needs at once not to refuse a client another worker handed back.
import { describe, expect, it } from 'vitest';
import type { Session } from '../../../../src/worker/session/session.js';
import type { Children } from '../../../../src/worker/children.js';
import { TxClients } from '../../../../src/worker/transaction/tx-clients.js';

describe('TxClients counts', () => {
  it('says room again only when the count falls below the share from it', () => {
    const told: Array<[number, boolean]> = [];
    const clients = new TxClients(
      () => ({}) as Children,
      (n, roomAgain) => told.push([n, roomAgain]),
      () => 2,
    );
    const [a, b, c] = [{}, {}, {}] as Session[];
    clients.add(a);
    clients.add(b);
    clients.add(c); // beyond the share (the supervisor placed it): counted, no room
    clients.remove(c);
    clients.remove(b); // 2 → 1: below the share again
    clients.remove(b); // not there any more: nothing
    clients.remove(a);
    expect(told).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [2, false],
      [1, true],
      [0, false],
    ]);
  });
});
