// Read load balancing in transaction mode (docs/transaction-pooling.md#load-balancing): the
// node each transaction runs on, from its first request (policy/tx-read-route.ts), and the
// catalog facts a read needs, asked on the primary after its first run.
import type { BackendAddress } from '../../backend/address.js';
import { NO_FACTS, routeStatement, type Destination, type TxView } from '../../policy/route-decision.js';
import type { StatementClass } from '../../policy/statement-class.js';
import { oneStatementRequest, txReadTarget } from '../../policy/tx-read-route.js';
import { FrontendCode } from '../../protocol/codes.js';
import type { InternalQuery } from '../routing/catalog-facts.js';
import { routeSettingsFor } from '../routing/session-router.js';
import type { SessionEnv, SessionNames } from '../session/session-env.js';
import { cstringAt } from './tx-messages.js';

/** The client's named statements (TxRequests): a Bind is routed by its statement's text. */
export interface NamedStatements {
  statementText(name: string): string | undefined;
}

/** Between transactions a client is idle: the rules see no transaction block. */
const IDLE: TxView = { primaryStatus: 'I', writing: false, serializable: false, startedByMultiStatement: false };

/** The text of the statement a transaction's first message runs, when it names one. */
function firstText(raw: Buffer, statements: NamedStatements): string | undefined {
  // Fields after the 5-byte header: a Query's text; a Parse's or Bind's first name, then the next string.
  const type = raw[0];
  if (type === FrontendCode.Query) return cstringAt(raw, 5)[0];
  if (type === FrontendCode.Parse) return cstringAt(raw, cstringAt(raw, 5)[1])[0];
  if (type !== FrontendCode.Bind) return undefined;
  const name = cstringAt(raw, cstringAt(raw, 5)[1])[0];
  return name === '' ? undefined : statements.statementText(name);
}

export class TxReadRouting {
  /** A transaction of this session went to the primary as something other than a read. */
  private wrote = false;
  /** The read whose catalog facts to ask on the primary after this transaction. */
  private toLearn: { readonly cls: StatementClass; readonly sql: string } | undefined;

  constructor(
    readonly standby: BackendAddress,
    private readonly database: string,
    private readonly env: SessionEnv,
    /** Who the session is (the redirect lists choose by it). */
    private readonly who: SessionNames,
  ) {}

  /** Whether the transaction that starts with the `pending` messages runs on the standby (counted on its node). */
  onStandby(pending: readonly Buffer[], statements: NamedStatements, primary: number): boolean {
    this.toLearn = undefined;
    const routing = this.env.routing;
    const cfg = this.env.config;
    const sql = routing && oneStatementRequest(pending) ? firstText(pending[0], statements) : undefined;
    let destination: Destination | undefined;
    let factsKnown = false;
    let cls: StatementClass | undefined;
    if (routing && sql !== undefined) {
      const c = routing.classifier.classify(sql);
      cls = c.cls;
      const rules = routeSettingsFor(cfg);
      destination = routeStatement(c.cls, sql, c.multi, IDLE, NO_FACTS, rules);
      const facts = destination === 'lb' ? routing.facts.known(c.cls, sql, this.database, cfg) : undefined;
      factsKnown = facts !== undefined;
      if (facts) destination = routeStatement(c.cls, sql, c.multi, IDLE, facts, rules);
    }
    const target = txReadTarget({
      standby: true,
      destination,
      factsKnown,
      delayed: this.env.nodeDelayed(this.standby.node),
      keptOnPrimary: this.wrote && (cfg.causal_reads === 'session' || cfg.disable_load_balance_on_write === 'always'),
      // As a session's reads with statement_level_load_balance (docs/behaviour.md#load-balancing), per transaction.
      // Drawn only for a read the standby may take (a draw is a choice by the lists and weights).
      drawnStandby:
        !cfg.statement_level_load_balance ||
        destination !== 'lb' ||
        this.env.readOnStandby(this.who, this.standby.node),
    });
    if (target === 'learn') this.toLearn = { cls: cls!, sql: sql! };
    if (target === 'primary' && destination !== 'lb') this.wrote = true;
    const node = target === 'standby' ? this.standby.node : primary;
    if (cls) this.env.statementCounts.sent(node, cls.stat);
    this.env.cycleServed(node);
    return target === 'standby';
  }

  get learning(): boolean {
    return this.toLearn !== undefined;
  }

  /** Asks the catalog (on the primary connection the transaction ran on) what the read needs, for next time. */
  async learn(ask: InternalQuery): Promise<void> {
    const l = this.toLearn;
    this.toLearn = undefined;
    if (l) await this.env.routing?.facts.factsFor(l.cls, l.sql, this.database, this.env.config, ask);
  }
}
