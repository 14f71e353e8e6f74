// Cancel requests that reached the supervisor (a waiting client sent one) or a worker that
// did not issue the key (docs/behaviour.md#cancel): the key names the worker that issued it
// (policy/cancel-owner.ts), which is asked at once and sends it to the backend, whatever
// its children are doing. Unknown keys are dropped silently, as PostgreSQL does.
import type { FromWorker } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import { workerOfCancelKey } from '../policy/cancel-owner.js';
import type { WorkerPool } from './worker-pool.js';

/** How long the owning worker has to say whether the key was live. */
const CANCEL_ANSWER_TIMEOUT_MS = 5000;

export interface CancelCounters {
  cancelsForwarded: number;
  cancelsUnknown: number;
}

export class CancelRouter {
  constructor(
    private readonly workers: Pick<WorkerPool, 'count' | 'askOne'>,
    private readonly counters: CancelCounters,
    private readonly log: () => Logger,
    private readonly logClientMessages: () => boolean,
  ) {}

  /** A cancel request read by the supervisor itself. */
  fromWaitingClient(pid: number, keyHex: string): void {
    if (this.logClientMessages()) this.log().info({ detail: `process id: ${pid}` }, 'Cancel message from frontend.');
    void this.route(pid, keyHex);
  }

  /** A cancel request a worker read for a key another worker issued. */
  fromWorker(pid: number, keyHex: string): void {
    void this.route(pid, keyHex);
  }

  /** A worker handled a cancel for a key of its own: forwarded, or no session holds it now. */
  handled(pid: number, forwarded: boolean): void {
    if (forwarded) this.counters.cancelsForwarded++;
    else this.unknown(pid);
  }

  private async route(pid: number, keyHex: string): Promise<void> {
    const owner = workerOfCancelKey(keyHex, this.workers.count);
    const answer = await this.workers.askOne<Extract<FromWorker, { t: 'cancel' }>>(
      owner,
      (reqId) => ({ t: 'cancel', reqId, pid, key: keyHex }),
      CANCEL_ANSWER_TIMEOUT_MS,
    );
    this.handled(pid, answer?.forwarded === true);
  }

  private unknown(pid: number): void {
    this.counters.cancelsUnknown++;
    this.log().info({ pid }, 'invalid cancel key');
  }
}
