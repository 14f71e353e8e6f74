// A routed session's request cycle pieces (docs/behaviour.md#routing): the cycle still
// open to later client messages, whether such a message may stay on the standby, and the
// pool_backend_stats counting of what is sent to and failed on each node.
import type { StatementCounts } from '../../admin/statement-counts.js';
import { FrontendCode } from '../../protocol/codes.js';
import { bindFields, executePortal, isExtended, parseFields } from '../../protocol/frontend-messages.js';
import { errorFields, type Message } from '../../protocol/message-reader.js';
import type { StatKind } from '../../policy/statement-class.js';
import type { PreparedStatements } from '../routing/prepared-statements.js';
import type { RoutedStatement, SessionRouter } from '../routing/session-router.js';
import type { Leg } from './routed-leg.js';
import type { RelayEnd } from './relay.js';
import { isShutdownCode } from './shutdown-watch.js';

/** Thrown to end a routed session's loop with `end`. */
export class Ended extends Error {
  constructor(readonly end: RelayEnd) {
    super(end.kind);
  }
}

/** A cycle whose messages are still coming (COPY FROM STDIN, a batch waiting on a Flush). */
export interface OpenCycle {
  leg: Leg;
  synced: boolean;
  /** The standby's part failed: PostgreSQL skips to the Sync there, so the cycle stays there. */
  failed: boolean;
  readonly statements: RoutedStatement[];
}

/** In a cycle on the standby: whether a later message may go there too (known to be a read for it). */
export function staysOnStandby(
  m: Buffer,
  o: OpenCycle,
  router: SessionRouter,
  prepared: PreparedStatements,
  standbyNode: number,
): boolean {
  if (m[0] === FrontendCode.Parse) {
    const { sql } = parseFields(m);
    const s = router.readForStandbyNow(sql);
    if (s) o.statements.push(s);
    return s !== undefined;
  }
  if (m[0] === FrontendCode.Bind) {
    const e = prepared.get(bindFields(m).statement);
    return e !== undefined && e.nodes.has(standbyNode) && router.readForStandbyNow(e.sql) !== undefined;
  }
  return true;
}

/** Counts each node's statements and errors for pool_backend_stats, at send and read time as pgpool does. */
export class RoutedCounts {
  /** The kind of the Query being sent. */
  queryKind: StatKind | undefined;

  constructor(
    private readonly counts: StatementCounts,
    private readonly prepared: PreparedStatements,
    private readonly shutdown: (node: number) => void = () => {},
  ) {}

  /** pool_backend_stats: a Query counts by its class, an Execute by its portal's statement, on each node it reaches. */
  sent(node: number, m: Buffer): void {
    const t = m[0];
    const kind =
      t === FrontendCode.Query
        ? this.queryKind
        : t === FrontendCode.Execute
          ? this.prepared.portalKind(m[5] === 0 ? '' : executePortal(m))
          : undefined;
    if (kind) this.counts.sent(node, kind);
  }

  /** An ErrorResponse from `node` counts by its severity. */
  error(node: number, m: Message): void {
    const f = errorFields(m.body);
    this.counts.failed(node, f.get('V') ?? f.get('S'));
    if (isShutdownCode(f.get('C'))) this.shutdown(node);
  }
}

/** COPY data, done or fail. */
export function isCopy(type: number): boolean {
  return type === FrontendCode.CopyData || type === FrontendCode.CopyDone || type === FrontendCode.CopyFail;
}

/** An extended-protocol message or Sync: part of an extended cycle. */
export function isExtendedOrSync(type: number): boolean {
  return isExtended(type) || type === FrontendCode.Sync;
}
