// What a session needs of its worker, as one object (the worker implements it): the
// configuration and logger in force now (a reload may change them mid-session), the
// authentication context, routing, cancel keys, metrics and the pooler's own commands.
import type net from 'node:net';
import type { StatementCounts } from '../../admin/statement-counts.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { SessionSettings } from '../../config/session-settings.js';
import type { Logger } from '../../logging/logger.js';
import type { DurationCounts } from '../../metrics/duration-histogram.js';
import type { AuthContext } from '../auth-context.js';
import type { CancelKeys } from '../cancel-keys.js';
import type { CatalogFacts } from '../routing/catalog-facts.js';
import type { StatementClassifier } from '../routing/classifier.js';
import type { SessionPlan } from '../routing/router.js';

/** What the redirect preference lists match. */
export interface SessionNames {
  readonly user: string;
  readonly database: string;
  readonly applicationName: string;
}

export interface SessionEnv {
  readonly config: PgpoolConfig;
  readonly log: Logger;
  readonly auth: AuthContext;
  readonly cancelKeys: CancelKeys;
  /** The session's primary (undefined: no node can serve) and, when load balancing gives it another node, its load-balance node. */
  plan(who: SessionNames): SessionPlan;
  /** statement_level_load_balance: whether a read goes to the session's standby, chosen for each read. */
  readOnStandby(who: SessionNames, standby: number): boolean;
  /** Routed sessions: the worker's statement classifier (loaded) and catalog answers; undefined while the parser loads. */
  readonly routing: { readonly classifier: StatementClassifier; readonly facts: CatalogFacts } | undefined;
  /** A routed session's request cycle was served by `node` (metrics). */
  cycleServed(node: number): void;
  /** pool_backend_stats' counters of this worker (routed sessions count into it). */
  readonly statementCounts: StatementCounts;
  /** A node is over its delay threshold now (the latest node snapshot). */
  nodeDelayed(node: number): boolean;
  /** A session could not connect to `node`: with failover_on_backend_error the supervisor detaches it. */
  nodeUnreachable(node: number): void;
  /** `node` is the only alive node in the latest snapshot (an automatic detach keeps it). */
  lastAlive(node: number): boolean;
  /** A session opened a new connection to `node` (the node table learns it is up). */
  nodeConnected(node: number): void;
  /** Where this database's query and transaction durations are counted. */
  durations(database: string): { readonly queries: DurationCounts; readonly transactions: DurationCounts };
  /**
   * A pooler command (SHOW pool_*, PGPOOL SHOW/SET/RESET) ready to run (see relay.ts
   * PoolerCommandHook), or undefined for a query that goes to PostgreSQL. `changed`
   * follows a PGPOOL SET/RESET.
   */
  poolerCommand(
    query: string,
    settings: SessionSettings,
    changed: () => void,
    /** The session's load-balance node (SHOW pool_nodes marks it). */
    loadBalanceNode?: number,
  ): (() => Buffer | Promise<Buffer>) | undefined;
}

/** A client as log lines name it: address:port, or [local] for a Unix socket. */
export function peerOf(s: net.Socket): string {
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : '[local]';
}
