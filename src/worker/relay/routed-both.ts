// The request cycles that reach both of a routed session's nodes (docs/behaviour.md#routing):
// transaction control and settings, whose replies the client gets from the primary, and
// a cycle that opens a transaction and then reads, whose replies it gets from the standby.
// An error on one node only ends the session with pgpool's kind mismatch.
import { errorResponse } from '../../protocol/backend-write.js';
import { BackendCode } from '../../protocol/codes.js';
import { poolerError } from '../../protocol/errors.js';
import { errorFields, type Message } from '../../protocol/message-reader.js';
import { TxStatus } from '../../protocol/tx-status.js';
import type { StatementClass } from '../../policy/statement-class.js';
import type { Classified } from '../routing/classifier.js';
import type { PreparedStatements } from '../routing/prepared-statements.js';
import type { RoutedStatement, SessionRouter } from '../routing/session-router.js';
import { Ended, type RoutedCounts } from './routed-cycle.js';
import { forStandby, NOTHING, type Leg } from './routed-leg.js';
import type { Step, StepEnd } from './routed-one-node.js';
import type { SqlPrepared } from './sql-prepared.js';

/** What the two-node cycles use of their relay. */
export interface BothNodesHost {
  readonly primary: Leg;
  readonly standby: Leg;
  readonly counts: RoutedCounts;
  readonly router: SessionRouter;
  readonly prepared: PreparedStatements;
  readonly sqlPrepared: SqlPrepared;
  /** A cycle was served by `node` (metrics). */
  served(node: number): void;
  /** One client message to a leg (`also`: it went to the primary first). */
  send(leg: Leg, m: Buffer, also?: boolean): void;
  toClient(b: Buffer): void;
  /** A cycle on one node (its end is the relay's: the step is PENDING). */
  single(leg: Leg, messages: Buffer[], statements: RoutedStatement[]): Step;
  /** The ReadyForQuery with the client's status (the node's own when it says the same). */
  ready(fromNode?: Buffer): void;
  classify(sql: string): Classified;
}

export class BothNodes {
  constructor(private readonly h: BothNodesHost) {}

  /**
   * Both nodes (transaction control, settings): the primary's replies reach the client,
   * the standby's are read and dropped; an error on one node only ends the session with
   * pgpool's kind mismatch. COMMIT/ROLLBACK go to the standby first and not at all when it
   * has no transaction open.
   */
  async both(
    toPrimary: Buffer[],
    toStandby: Buffer[],
    statements: RoutedStatement[],
    cls: StatementClass | undefined,
  ): Promise<StepEnd> {
    const { primary, standby } = this.h;
    const ending = cls?.tx === 'end' || cls?.tx === 'rollback-to';
    if (ending && standby.stream.txStatus === TxStatus.Idle) return this.h.single(primary, toPrimary, statements);
    let standbyError: string | undefined;
    const dropStandby = (m: Message) => {
      if (m.type === BackendCode.ErrorResponse) standbyError = this.failed(standby, m);
    };
    if (ending) {
      for (const m of toStandby) this.h.send(standby, m, true);
      await standby.drain(dropStandby, NOTHING);
    }
    for (const m of toPrimary) this.h.send(primary, m);
    if (!ending) for (const m of toStandby) this.h.send(standby, m, true);
    let primaryError: string | undefined;
    const status = await primary.drain((m) => {
      if (m.type === BackendCode.ErrorResponse) primaryError = this.failed(primary, m);
      this.h.toClient(m.raw);
    }, this.h.toClient);
    if (!ending) await standby.drain(dropStandby, NOTHING);
    if ((primaryError === undefined) !== (standbyError === undefined))
      this.kindMismatch(statements, primaryError, standbyError);
    this.h.served(primary.node);
    this.h.served(standby.node);
    this.h.router.completed(statements, primaryError === undefined, status);
    if (primaryError === undefined && statements.some((s) => s.cls.dropsPrepared)) {
      for (const l of [primary, standby]) this.h.prepared.forgetNode(l.node);
      this.h.sqlPrepared.forgetAll();
    }
    standby.takeReady();
    this.h.ready(primary.takeReady());
  }

  /**
   * A cycle that opens a transaction, then reads: the BEGIN reaches both nodes, as pgpool
   * sends it, the primary's part ended by a Sync of the relay's own and its replies read
   * and dropped (a failure there is pgpool's kind mismatch); the whole cycle runs on the
   * standby, whose replies the client gets, with the primary's status.
   */
  async beginThenStandby(batch: Buffer[], split: number, statements: RoutedStatement[]): Promise<void> {
    const { primary, standby } = this.h;
    for (let i = 0; i < split; i++) this.h.send(primary, batch[i]);
    primary.writeSync();
    for (let i = 0; i < batch.length; i++)
      this.h.send(standby, i < split ? forStandby(batch[i], this.h.classify) : batch[i], i < split);
    let primaryError: string | undefined;
    const status = await primary.drain((m) => {
      if (m.type === BackendCode.ErrorResponse) primaryError = this.failed(primary, m);
    });
    if (primaryError !== undefined) this.kindMismatch(statements, primaryError, undefined);
    let standbyFailed = false;
    await standby.drain((m) => {
      if (m.type === BackendCode.ErrorResponse) standbyFailed = this.failed(standby, m) !== undefined;
      this.h.toClient(m.raw);
    }, this.h.toClient);
    this.h.served(primary.node);
    this.h.served(standby.node);
    this.h.router.completed(statements, !standbyFailed, status, standbyFailed);
    this.h.ready(standby.takeReady());
  }

  /** An ErrorResponse from `leg`'s node: counted (pool_backend_stats), and its message. */
  private failed(leg: Leg, m: Message): string {
    this.h.counts.error(leg.node, m);
    return errorFields(m.body).get('M') ?? 'error';
  }

  /** An error on one node only (docs/behaviour.md#routing): pgpool's kind mismatch, and the session ends. */
  private kindMismatch(statements: RoutedStatement[], primaryError?: string, standbyError?: string): never {
    const kind = (e: string | undefined) => (e ? `E: ${e}` : 'C');
    const kinds = `${this.h.primary.node}[${kind(primaryError)}] ${this.h.standby.node}[${kind(standbyError)}]`;
    this.h.toClient(errorResponse(poolerError('KIND_MISMATCH', { query: statements[0]?.sql ?? '', kinds })));
    throw new Ended({ kind: 'stopped', reason: 'kind mismatch among backends' });
  }
}
