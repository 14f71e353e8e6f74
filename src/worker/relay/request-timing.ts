// Query and transaction durations as the relay sees them: a request (Query, Sync,
// FunctionCall) starts when its bytes arrive and ends at its ReadyForQuery. Start times
// wait in a fixed ring, so timing allocates nothing per request.
import type { DurationCounts } from '../../metrics/duration-histogram.js';
import type { RequestTimer } from '../../protocol/stream-state.js';
import { TxStatus } from '../../protocol/tx-status.js';

const RING = 256;

export class RequestTiming implements RequestTimer {
  /** performance.now() of the chunk being scanned, set by the relay with its lastActivity. */
  now = 0;
  /** A plain array of doubles: a typed array would cost an ArrayBuffer more per session. */
  private readonly starts: number[];
  private readonly ring: number;
  private head = 0;
  private size = 0;
  /** Requests beyond the ring's capacity: not timed, but still matched to their answers. */
  private untimed = 0;
  /** Start of the open transaction, NaN when none. */
  private txStart = NaN;

  constructor(
    private readonly queries: DurationCounts,
    private readonly transactions: DurationCounts,
    /** Requests timed at once (transaction mode keeps its idle clients small: a few). */
    ring = RING,
  ) {
    this.ring = ring;
    // Filled with a fraction, so the array holds unboxed doubles from the start (no elements-kind change later).
    this.starts = new Array<number>(ring).fill(0.5);
  }

  /** A request went to PostgreSQL. */
  sent(): void {
    if (Number.isNaN(this.txStart)) this.txStart = this.now;
    // Once one request went untimed, later ones must too, or answers would pair with the wrong starts.
    if (this.untimed > 0 || this.size === this.ring) {
      this.untimed++;
      return;
    }
    this.starts[(this.head + this.size) % this.ring] = this.now;
    this.size++;
  }

  /** A ReadyForQuery passed to the client with this transaction status. */
  ready(status: number): void {
    if (this.size > 0) {
      this.queries.observe((this.now - this.starts[this.head]) / 1000);
      this.head = (this.head + 1) % this.ring;
      this.size--;
    } else if (this.untimed > 0) {
      this.untimed--;
    } else {
      return; // not an answer to a timed request (the greeting's, a reset's)
    }
    if (status !== TxStatus.Idle) return;
    if (!Number.isNaN(this.txStart)) this.transactions.observe((this.now - this.txStart) / 1000);
    // A pipelined request already waiting opens the next transaction when it was sent.
    this.txStart = this.size > 0 ? this.starts[this.head] : this.untimed > 0 ? this.now : NaN;
  }
}
