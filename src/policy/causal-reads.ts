// causal_reads = session (docs/behaviour.md#causal-reads), pure: which statements of a
// cycle run on the primary make the session's next reads wait for the standby to replay
// its commit, and the queries that capture and compare the log positions.
import type { StatementClass } from './statement-class.js';

export interface CycleStatement {
  readonly cls: StatementClass;
  /** is_select_query(), the text rule included. */
  readonly read: boolean;
  readonly multi: boolean;
}

/**
 * A statement that may have written: anything but transaction control and settings
 * (class both) and reads calling no function (a function may write: nextval, a volatile
 * one); a multi-statement query always.
 */
export function mayWrite(s: CycleStatement): boolean {
  if (s.multi) return true;
  if (s.cls.where === 'both') return false;
  return !(s.read && s.cls.functions.length === 0);
}

/** The primary's WAL insert position after the commit: no later than any record the session's commit wrote. */
export const CAPTURE_LSN = 'SELECT pg_current_wal_insert_lsn()';

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** The standby's check, or undefined when `lsn` is no log position (then it never has replayed it). */
export function replayedQuery(lsn: string | null | undefined): string | undefined {
  if (lsn === null || lsn === undefined || !LSN.test(lsn)) return undefined;
  return `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`;
}
