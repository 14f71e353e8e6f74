// A routed session's read-your-writes state (docs/behaviour.md#causal-reads): after a
// transaction that may have written ends on the primary, the session's reads go to the
// standby only once it has replayed past the primary's WAL position, taken at the first
// read that follows; until then they go to the primary. Off, it costs nothing.
import { CAPTURE_LSN, mayWrite, replayedQuery, type CycleStatement } from '../../policy/causal-reads.js';
import type { InternalQuery } from './catalog-facts.js';

/** Internal queries between cycles on each of the session's nodes. */
export interface NodeQueries {
  readonly primary: InternalQuery;
  readonly standby: InternalQuery;
}

export class CausalReads {
  /** A statement that may have written ran in the primary's current transaction. */
  private wrote = false;
  /** A committed write the standby may not have replayed yet. */
  private waiting = false;
  /** The position the standby must reach (taken at the first read after the commit). */
  private lsn: string | null | undefined;

  constructor(private readonly on: () => boolean) {}

  /** Whether reads must wait for the standby now. */
  get pending(): boolean {
    return this.waiting && this.on();
  }

  /** After a cycle that ran on the primary, with the primary's transaction ended or not. */
  afterPrimaryCycle(statements: readonly CycleStatement[], primaryIdle: boolean): void {
    if (!this.on()) {
      this.wrote = this.waiting = false;
      return;
    }
    if (statements.some(mayWrite)) this.wrote = true;
    if (primaryIdle && this.wrote) {
      this.wrote = false;
      this.waiting = true;
      this.lsn = undefined;
    }
  }

  /**
   * Whether the standby has replayed the session's last write, asking both nodes (the
   * primary only for the first check after a commit). Call between cycles, with the
   * primary outside a transaction.
   */
  async standbyCaughtUp(ask: NodeQueries): Promise<boolean> {
    if (!this.pending) return true;
    if (this.lsn === undefined) this.lsn = (await ask.primary(CAPTURE_LSN))[0];
    const check = replayedQuery(this.lsn);
    if (check === undefined) return false;
    const [replayed] = await ask.standby(check);
    if (replayed !== 't') return false;
    this.waiting = false;
    return true;
  }
}
