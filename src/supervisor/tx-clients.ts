// Transaction mode's max_client_conn over all workers (docs/transaction-pooling.md#sizing):
// each worker admits its share without asking anyone, and hands a client beyond it back;
// the supervisor places that one on the worker holding the fewest clients, by the counts
// the workers report (batched: at most REPORT_AGE_MS old, but a worker's room again at
// once). With no room by those counts the client waits for the reports of its arrival's
// moment — a client that left just before may not be counted out yet — and is refused
// with 53300 only when they too say max_client_conn clients are connected.
import type net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { txClientTarget } from '../policy/admission.js';
import { refuseBeyondMaxClientConn } from '../protocol/client-refusal.js';

/** How old a worker's reported count may be (the workers' lazy IPC window, ipc/channel.ts), with a margin. */
const REPORT_AGE_MS = 150;

interface Unplaced {
  readonly socket: net.Socket;
  readonly placed: (worker: number) => void;
  readonly until: number;
}

export class TxClientCounts {
  private readonly counts: number[];
  /** Clients no worker had room for, by the counts of their arrival: placed or refused as reports come. */
  private readonly unplaced: Unplaced[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    workerCount: number,
    private readonly maxClientConn: () => number,
    private readonly log: () => Logger,
  ) {
    this.counts = new Array<number>(workerCount).fill(0);
  }

  reported(worker: number, count: number): void {
    this.counts[worker] = count;
    if (this.unplaced.length > 0) this.retry(performance.now());
  }

  /** Gives `socket` to `placed` with the worker that takes it (counted at once, so a burst spreads), or refuses it. */
  place(socket: net.Socket, placed: (worker: number) => void): void {
    if (this.unplaced.length === 0 && this.take(placed)) return;
    this.unplaced.push({ socket, placed, until: performance.now() + REPORT_AGE_MS });
    this.timer ??= setTimeout(this.onTimer, REPORT_AGE_MS);
  }

  private take(placed: (worker: number) => void): boolean {
    const w = txClientTarget(this.counts, this.maxClientConn());
    if (w === undefined) return false;
    this.counts[w]++;
    this.log().debug({ worker: w, clients: this.counts[w] }, 'client placed on the worker with the most room');
    placed(w);
    return true;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.retry(performance.now());
  };

  /** First come, first placed; a client whose reports are all in and found no room is refused. */
  private retry(now: number): void {
    while (this.unplaced.length > 0) {
      const u = this.unplaced[0];
      if (!this.take(u.placed)) {
        if (u.until > now) break;
        refuseBeyondMaxClientConn(
          u.socket,
          this.counts.reduce((a, b) => a + b, 0),
          this.log(),
        );
      }
      this.unplaced.shift();
    }
    if (this.unplaced.length > 0 && !this.timer)
      this.timer = setTimeout(this.onTimer, Math.max(1, this.unplaced[0].until - now));
  }
}
