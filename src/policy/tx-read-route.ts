// Where a transaction goes in transaction pooling mode with load balancing
// (docs/transaction-pooling.md#load-balancing), pure: a transaction whose first request is
// one read outside a transaction block runs on the session's load-balance node, by the
// same rules as a read in session mode (route-decision.ts) for a session that is idle;
// everything else on the primary. pgpool-ts asks the catalog about a read's relations and
// functions on the primary, after that read's transaction, so a statement's first run goes
// to the primary and later ones, once the facts are cached, to the standby.
import type { Destination } from './route-decision.js';

export interface TxReadInput {
  /** The session has a load-balance node other than the primary (load_balance_mode, a standby up). */
  readonly standby: boolean;
  /** The rules' destination for the first statement, as read while idle (undefined: no statement text). */
  readonly destination: Destination | undefined;
  /** The catalog facts the rules need are cached (or none are needed). */
  readonly factsKnown: boolean;
  /** The standby is over delay_threshold now. */
  readonly delayed: boolean;
  /** A write of this session must keep its reads on the primary (causal_reads, disable_load_balance_on_write = always). */
  readonly keptOnPrimary: boolean;
  /** statement_level_load_balance: this read's node chosen again, by weight, between the primary (false) and the standby. */
  readonly drawnStandby: boolean;
}

/** standby · primary · learn: the primary, then the catalog facts are asked there for next time. */
export type TxReadTarget = 'standby' | 'primary' | 'learn';

export function txReadTarget(i: TxReadInput): TxReadTarget {
  if (!i.standby || i.destination !== 'lb' || i.delayed || i.keptOnPrimary) return 'primary';
  if (!i.factsKnown) return 'learn';
  return i.drawnStandby ? 'standby' : 'primary';
}

/** Frontend message types a balanced batch may hold (protocol/codes.ts's letters). */
const PARSE = 0x50;
const BIND = 0x42;
const DESCRIBE = 0x44;
const EXECUTE = 0x45;
const SYNC = 0x53;
const QUERY = 0x51;

/**
 * Whether the messages a transaction starts with are one request running one statement, all
 * received: a Query, or Parse? Bind Describe* Execute Sync (the statement's own messages up to
 * its Sync). Anything else (a second statement before the Sync, a Flush, a batch not yet
 * whole) stays on the primary: a standby transaction gets one request, whole.
 */
export function oneStatementRequest(pending: readonly Uint8Array[]): boolean {
  // Each message as its bytes: the type is the first.
  const type = (i: number): number | undefined => pending[i]?.[0];
  if (type(0) === QUERY) return true;
  let i = type(0) === PARSE ? 1 : 0;
  if (type(i++) !== BIND) return false;
  while (type(i) === DESCRIBE) i++;
  return type(i) === EXECUTE && type(i + 1) === SYNC;
}
