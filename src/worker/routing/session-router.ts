// A routed session's view of its transaction and where each request cycle goes
// (docs/behaviour.md#routing): the statement classes (classifier), the catalog's facts,
// the pure route decision and the writing flag, over the two nodes the session holds —
// the primary and its load-balance node.
import type { PgpoolConfig } from '../../config/schema.js';
import type { Logger } from '../../logging/logger.js';
import { FrontendCode } from '../../protocol/codes.js';
import { bindFields, executePortal, parseFields, targetFields } from '../../protocol/frontend-messages.js';
import { TxStatus } from '../../protocol/tx-status.js';
import {
  delayedRead,
  isRead,
  catalogNode,
  NO_FACTS,
  routeStatement,
  writingAfter,
  type Destination,
  type DisableLbOnWrite,
  type ReadFacts,
  type RouteSettings,
  type TxView,
} from '../../policy/route-decision.js';
import {
  parseRelationshipList,
  readsWritten,
  writtenAfter,
  type RelationshipEntry,
} from '../../policy/dml-adaptive.js';
import type { StatementClass } from '../../policy/statement-class.js';
import {
  afterBlock,
  afterStatement,
  NO_TEMP_TABLES,
  usesTempTable,
  type TempTables,
} from '../../policy/temp-tables.js';
import { CausalReads, type NodeQueries } from './causal-reads.js';
import type { CatalogFacts } from './catalog-facts.js';
import type { Classified, StatementClassifier } from './classifier.js';
import type { PreparedStatements } from './prepared-statements.js';
import {
  boundIn,
  DEST_BIT,
  extendedRoute,
  newExtendedRouting,
  noteDestination,
  STATEMENT,
  type ExtendedRouting,
} from './extended-cycle.js';

interface Settings {
  readonly route: RouteSettings;
  /** dml_adaptive_object_relationship_list, parsed (checked at start; an unparsable one is empty). */
  readonly relationships: readonly RelationshipEntry[];
}
const settingsOf = new WeakMap<PgpoolConfig, Settings>();

/** The routing rules' settings of a configuration snapshot (transaction mode reads them too). */
export const routeSettingsFor = (cfg: PgpoolConfig): RouteSettings => settingsFor(cfg).route;

/** The settings routing reads, derived once per configuration snapshot. */
function settingsFor(cfg: PgpoolConfig): Settings {
  let s = settingsOf.get(cfg);
  if (!s) {
    const m = cfg.disable_load_balance_on_write;
    let relationships: RelationshipEntry[] = [];
    try {
      relationships = parseRelationshipList(cfg.dml_adaptive_object_relationship_list);
    } catch {
      // Refused at start (conf-checks); a reload that breaks it keeps no relationships.
    }
    s = {
      route: {
        load_balance_mode: cfg.load_balance_mode,
        // dml_adaptive_global's cross-session tracking is not built: its safe reading is transaction mode.
        disable_load_balance_on_write: m === 'dml_adaptive_global' ? 'transaction' : m,
        allow_sql_comments: cfg.allow_sql_comments,
        ignore_leading_white_space: cfg.ignore_leading_white_space,
      },
      relationships,
    };
    settingsOf.set(cfg, s);
  }
  return s;
}

/**
 * Where a request cycle (a Query, or extended messages up to Sync) goes. `beginFirst`: the
 * cycle's first that many messages open a transaction and reach the primary too.
 */
export type CycleRoute = {
  readonly to: 'primary' | 'lb' | 'both';
  readonly statements: RoutedStatement[];
  readonly beginFirst?: number;
};

export interface RoutedStatement {
  readonly cls: StatementClass;
  readonly sql: string;
  /** is_select_query(), the text rule included. */
  readonly read: boolean;
  readonly multi: boolean;
}

export interface RouterDeps {
  readonly config: () => PgpoolConfig;
  readonly classifier: StatementClassifier;
  readonly facts: CatalogFacts;
  readonly prepared: PreparedStatements;
  readonly database: string;
  readonly log: () => Logger;
  readonly client: string;
  /** The session's load-balance node. */
  readonly lbNode: number;
  /** The load-balance node is over its delay threshold now. */
  readonly lbDelayed: () => boolean;
  /** statement_level_load_balance: this read's node, chosen again (true: the load-balance node). */
  readonly readOnStandby: () => boolean;
}

const EMPTY: ReadonlySet<string> = new Set();
const ch = (t: number) => String.fromCharCode(t);

/**
 * The session's transaction as routing sees it (docs/behaviour.md#transactions): its one
 * owner. The relay reports each cycle's outcome (completed) and reads the status to give
 * the client.
 */
export class SessionRouter {
  /** The primary connection's last ReadyForQuery status. */
  primaryStatus: number = TxStatus.Idle;
  writing = false;
  private serializable = false;
  private sessionSerializable = false;
  private startedByMultiStatement = false;
  /** dml_adaptive: relations written in this transaction, and their dependents. */
  private written = EMPTY;
  private readonly causal = new CausalReads(() => this.deps.config().causal_reads === 'session');
  /** A read on the standby failed inside the client's transaction: 25P02 until it ends, as pgpool. */
  failedOnStandby = false;
  /** check_temp_table = trace: this session's temporary tables. */
  private temp: TempTables = NO_TEMP_TABLES;

  constructor(private readonly deps: RouterDeps) {}

  private get mode(): DisableLbOnWrite {
    return this.settings.disable_load_balance_on_write;
  }

  /** The routing settings of the configuration in force (one object per configuration, not per statement). */
  private get settings(): RouteSettings {
    return settingsFor(this.deps.config()).route;
  }

  /** dml_adaptive: a read of a relation written earlier in this transaction (docs/behaviour.md#dml-adaptive). */
  private readsWrittenRelation(c: StatementClass): boolean {
    return this.primaryStatus !== TxStatus.Idle && readsWritten(this.written, c.mentions);
  }

  private view(): TxView {
    const s = ch(this.primaryStatus) as TxView['primaryStatus'];
    return {
      primaryStatus: s,
      writing: this.writing,
      serializable: this.serializable || (this.sessionSerializable && s !== 'I'),
      startedByMultiStatement: this.startedByMultiStatement,
    };
  }

  /** No transaction is open, nor would one be serializable: reads after a BEGIN in the same cycle route as before it. */
  private get idleNotSerializable(): boolean {
    return this.primaryStatus === TxStatus.Idle && !this.sessionSerializable;
  }

  /** The transaction status the client is given in ReadyForQuery. */
  get clientStatus(): number {
    return this.failedOnStandby ? TxStatus.Failed : this.primaryStatus;
  }

  /** A statement as a cycle records it. */
  routed(c: Classified, sql: string): RoutedStatement {
    return { cls: c.cls, sql, read: isRead(c.cls, sql, this.settings), multi: c.multi };
  }

  classify(sql: string): Classified {
    const c = this.deps.classifier.classify(sql);
    if (c.parseError !== undefined)
      this.deps.log().info({ client: this.deps.client, error: c.parseError }, `Unable to parse the query: "${sql}"`);
    return c;
  }

  /**
   * One statement's destination, the catalog asked on the primary when a read needs it
   * (and, with causal_reads, both nodes asked where they are in the log); a plain value
   * (no promise to wait for) when everything it depends on is already known.
   */
  destination(c: Classified, sql: string, ask: NodeQueries): Destination | Promise<Destination> {
    const d = this.byRules(c, sql, ask);
    if (!this.causal.pending) return d;
    return typeof d === 'string' ? this.causalGate(d, c, ask) : d.then((to) => this.causalGate(to, c, ask));
  }

  private byRules(c: Classified, sql: string, ask: NodeQueries): Destination | Promise<Destination> {
    const cfg = this.deps.config();
    const view = this.view();
    const unsure = routeStatement(c.cls, sql, c.multi, view, NO_FACTS, this.settings);
    if (unsure !== 'lb') return unsure;
    const known = this.deps.facts.known(c.cls, sql, this.deps.database, cfg);
    if (known) return this.withFacts(c, sql, view, known);
    const node = catalogNode(cfg.relcache_query_target, cfg.check_temp_table, c.cls.relations.length > 0);
    return this.deps.facts
      .factsFor(c.cls, sql, this.deps.database, cfg, node === 'lb' ? ask.standby : ask.primary)
      .then((facts) => this.withFacts(c, sql, view, facts));
  }

  /**
   * causal_reads: a read waits for the standby to replay the session's last write (the
   * primary serves it until then); inside a transaction the standby's snapshot may be
   * older than the check, so only a check made before its BEGIN lets its reads go there.
   */
  private causalGate(d: Destination, c: Classified, ask: NodeQueries): Destination | Promise<Destination> {
    const idle = this.primaryStatus === TxStatus.Idle;
    if (d === 'both') return idle && c.cls.tx === 'begin' ? this.causal.standbyCaughtUp(ask).then(() => d) : d;
    if (d !== 'lb') return d;
    if (!idle) return 'primary';
    return this.causal.standbyCaughtUp(ask).then((replayed) => (replayed ? 'lb' : 'primary'));
  }

  /** The catalog's facts, and what this session itself knows: relations written in its transaction, its traced temp tables. */
  private sessionFacts(c: Classified, known: ReadFacts): ReadFacts {
    let facts = this.readsWrittenRelation(c.cls) ? { ...known, writtenInTransaction: true } : known;
    if (this.deps.config().check_temp_table === 'trace' && usesTempTable(this.temp, c.cls.relations))
      facts = { ...facts, tempTable: true };
    return facts;
  }

  private withFacts(c: Classified, sql: string, view: TxView, known: ReadFacts): Destination {
    const facts = this.sessionFacts(c, known);
    const d = routeStatement(c.cls, sql, c.multi, view, facts, this.settings);
    if (d !== 'lb') return d;
    if (this.deps.config().statement_level_load_balance && !this.deps.readOnStandby()) return 'primary';
    // Only the primary and one standby are connected: a delayed standby's reads go to the primary.
    return delayedRead(this.deps.lbDelayed(), this.deps.config().prefer_lower_delay_standby) === 'lb'
      ? 'lb'
      : 'primary';
  }

  /**
   * A statement arriving in a cycle already on the standby: its routed form when it is a
   * read for the standby by what is known now (its class, and catalog answers already
   * cached), else undefined (the cycle moves to the primary).
   */
  readForStandbyNow(sql: string): RoutedStatement | undefined {
    const cfg = this.settings;
    const c = this.classify(sql);
    const view = this.view();
    if (routeStatement(c.cls, sql, c.multi, view, NO_FACTS, cfg) !== 'lb') return undefined;
    const known = this.deps.facts.known(c.cls, sql, this.deps.database, this.deps.config());
    const facts = known && this.sessionFacts(c, known);
    if (!facts || routeStatement(c.cls, sql, c.multi, view, facts, cfg) !== 'lb') return undefined;
    if (this.deps.lbDelayed() || this.readsWrittenRelation(c.cls) || this.causal.pending) return undefined;
    return this.routed(c, sql);
  }

  /**
   * Where an extended-protocol cycle goes (extended-cycle.ts says how): a plain value
   * when no statement needed the catalog asked (no promise per cycle).
   */
  routeExtended(messages: readonly Buffer[], complete: boolean, ask: NodeQueries): CycleRoute | Promise<CycleRoute> {
    const acc = newExtendedRouting();
    for (let i = 0; i < messages.length; i++) {
      const d = this.extendedStep(messages, i, acc, ask);
      if (typeof d === 'object') return this.routeExtendedLater(messages, complete, ask, acc, i, d);
      noteDestination(acc, i, d);
    }
    return extendedRoute(messages, complete, acc, this.idleNotSerializable);
  }

  /** The rest of routeExtended once a statement's destination waits on the catalog (one question at a time). */
  private async routeExtendedLater(
    messages: readonly Buffer[],
    complete: boolean,
    ask: NodeQueries,
    acc: ExtendedRouting,
    at: number,
    waiting: Promise<Destination>,
  ): Promise<CycleRoute> {
    noteDestination(acc, at, DEST_BIT[await waiting]);
    for (let i = at + 1; i < messages.length; i++) {
      const d = this.extendedStep(messages, i, acc, ask);
      noteDestination(acc, i, typeof d === 'object' ? DEST_BIT[await d] : d);
    }
    return extendedRoute(messages, complete, acc, this.idleNotSerializable);
  }

  /** One message of an extended cycle: its destination's bit (0: none), or the promise of its destination. */
  private extendedStep(
    messages: readonly Buffer[],
    i: number,
    acc: ExtendedRouting,
    ask: NodeQueries,
  ): number | Promise<Destination> {
    const m = messages[i];
    const t = m[0];
    if (t === FrontendCode.Parse) {
      const { name, sql } = parseFields(m);
      if (acc.parsedHere === undefined) acc.parsedHere = name;
      else (acc.parsedMore ??= []).push(name);
      const c = this.classify(sql);
      acc.statements.push(this.routed(c, sql));
      const d = this.destination(c, sql, ask);
      return typeof d === 'string' ? DEST_BIT[d] : d;
    }
    if (t === FrontendCode.Bind) {
      const { statement } = bindFields(m);
      if (statement === acc.parsedHere || acc.parsedMore?.includes(statement)) return 0;
      const e = this.deps.prepared.get(statement);
      if (!e) return DEST_BIT.primary;
      const c = { cls: e.cls, multi: e.multi };
      acc.statements.push(this.routed(c, e.sql));
      const d = this.destination(c, e.sql, ask);
      return typeof d === 'string' ? DEST_BIT[d] : d;
    }
    if (t === FrontendCode.Execute || t === FrontendCode.Describe || t === FrontendCode.Close) {
      // A portal bound in an earlier cycle stays where it was bound; the primary when unknown.
      if (t !== FrontendCode.Execute && m[5] === STATEMENT) return 0;
      const portal = t === FrontendCode.Execute ? executePortal(m) : targetFields(m).name;
      if (boundIn(messages, portal)) return 0;
      return this.deps.prepared.portalNode(portal) === this.deps.lbNode ? DEST_BIT.lb : DEST_BIT.primary;
    }
    return t === FrontendCode.FunctionCall ? DEST_BIT.primary : 0;
  }

  /** check_temp_table = trace: the temporary tables this cycle's statements created or dropped. */
  private traceTempTables(
    statements: readonly RoutedStatement[],
    ok: boolean,
    primaryStatus: number | undefined,
  ): void {
    const before = this.primaryStatus;
    const after = primaryStatus ?? before;
    const inBlock = after !== TxStatus.Idle;
    if (ok) for (const s of statements) if (s.cls.temp) this.temp = afterStatement(this.temp, s.cls.temp, inBlock);
    if (before !== TxStatus.Idle && !inBlock) {
      const committed = ok && before === TxStatus.InTransaction && !statements.some((s) => s.cls.rollback);
      this.temp = afterBlock(this.temp, committed);
    }
  }

  /**
   * After a cycle: each statement that succeeded moves the writing flag; the primary's new
   * status (undefined when the cycle did not go there); `standbyFailed`: an error came
   * from the standby.
   */
  completed(
    statements: readonly RoutedStatement[],
    ok: boolean,
    primaryStatus: number | undefined,
    standbyFailed = false,
  ): void {
    const mode = this.mode;
    const wasIdle = this.primaryStatus === TxStatus.Idle;
    if (this.deps.config().check_temp_table === 'trace') this.traceTempTables(statements, ok, primaryStatus);
    if (ok)
      for (const s of statements) {
        const status = ch(primaryStatus ?? this.primaryStatus) as TxView['primaryStatus'];
        this.writing = writingAfter(s.cls, s.read, false, status, mode, this.writing);
        if (s.cls.serializable) {
          if (s.cls.sessionWide) this.sessionSerializable = true;
          else this.serializable = true;
        }
        if (s.cls.stat === 'ddl') this.deps.facts.invalidate();
      }
    if (primaryStatus !== undefined) {
      this.primaryStatus = primaryStatus;
      this.causal.afterPrimaryCycle(statements, primaryStatus === TxStatus.Idle);
    }
    if (mode === 'dml_adaptive' && this.primaryStatus !== TxStatus.Idle) {
      const list = settingsFor(this.deps.config()).relationships;
      for (const s of statements)
        this.written = writtenAfter(
          this.written,
          { read: s.read, relations: s.cls.mentions, functions: s.read ? s.cls.functions : [] },
          list,
        );
    }
    // A multi-statement query that opened a transaction: it exists on the primary only.
    if (wasIdle && this.primaryStatus !== TxStatus.Idle && statements.some((s) => s.multi))
      this.startedByMultiStatement = true;
    if (standbyFailed && this.primaryStatus !== TxStatus.Idle) this.failedOnStandby = true;
    if (this.primaryStatus === TxStatus.Idle) {
      this.serializable = false;
      this.startedByMultiStatement = false;
      this.failedOnStandby = false;
      this.written = EMPTY;
    }
  }
}
