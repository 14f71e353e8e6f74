// Transaction mode's max_client_conn over all workers (docs/transaction-pooling.md#sizing):
// each worker admits its share without asking anyone, and hands a client beyond it back;
// the supervisor places that one on the worker holding the fewest clients, by the counts
// the workers report (at most 100 ms old), or refuses it with 53300 when together they
// hold max_client_conn.
import type net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { txClientTarget } from '../policy/admission.js';
import { refuseBeyondMaxClientConn } from '../protocol/client-refusal.js';

export class TxClientCounts {
  private readonly counts: number[];

  constructor(workerCount: number) {
    this.counts = new Array<number>(workerCount).fill(0);
  }

  reported(worker: number, count: number): void {
    this.counts[worker] = count;
  }

  /** The worker that takes `socket` (counted at once, so a burst spreads), or undefined when it was refused. */
  place(socket: net.Socket, maxClientConn: number, log: Logger): number | undefined {
    const w = txClientTarget(this.counts, maxClientConn);
    if (w !== undefined) {
      this.counts[w]++;
      log.debug({ worker: w, clients: this.counts[w] }, 'client placed on the worker with the most room');
      return w;
    }
    refuseBeyondMaxClientConn(
      socket,
      this.counts.reduce((a, b) => a + b, 0),
      log,
    );
    return undefined;
  }
}
