// Cancel requests that reached the supervisor (a waiting client sent one) or a worker that
// did not issue the key (docs/behaviour.md#cancel): every other worker is asked at once,
// and the one whose session issued the key sends it to the backend, whatever its children
// are doing. Unknown keys are dropped silently, as PostgreSQL does.
import type { FromWorker } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import type { WorkerPool } from './worker-pool.js';

/** How long the workers have to say whether a key was theirs. */
const CANCEL_ANSWER_TIMEOUT_MS = 5000;

export interface CancelCounters {
  cancelsForwarded: number;
  cancelsUnknown: number;
}

export class CancelRouter {
  constructor(
    private readonly workers: WorkerPool,
    private readonly counters: CancelCounters,
    private readonly log: () => Logger,
    private readonly logClientMessages: () => boolean,
  ) {}

  /** A cancel request read by the supervisor itself. */
  fromWaitingClient(pid: number, keyHex: string): void {
    if (this.logClientMessages()) this.log().info({ detail: `process id: ${pid}` }, 'Cancel message from frontend.');
    void this.route(pid, keyHex);
  }

  /** A cancel request a worker read and did not hold the key for. */
  fromWorker(w: number, pid: number, keyHex: string): void {
    void this.route(pid, keyHex, w);
  }

  /** A worker forwarded a cancel for a key its own session issued. */
  forwardedBy(): void {
    this.counters.cancelsForwarded++;
  }

  private async route(pid: number, keyHex: string, except?: number): Promise<void> {
    const answers = await this.workers.ask<Extract<FromWorker, { t: 'cancel' }>>(
      (reqId) => ({ t: 'cancel', reqId, pid, key: keyHex }),
      CANCEL_ANSWER_TIMEOUT_MS,
      except,
    );
    if (answers.some((a) => a.forwarded)) {
      this.counters.cancelsForwarded++;
      return;
    }
    this.counters.cancelsUnknown++;
    this.log().info({ pid }, 'invalid cancel key');
  }
}
