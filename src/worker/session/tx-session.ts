// A session in transaction pooling mode (docs/transaction-pooling.md), as the session sees
// it: the child it holds only for its start-up and each transaction, the relay that gives
// the backend connection back between transactions, and what happens to a connection the
// client still held when it left.
import type net from 'node:net';
import { cancelTargetOf, type CancelTarget } from '../../backend/cancel.js';
import type { PasswordSource } from '../../backend/connector.js';
import { resetConnection } from '../../backend/reset.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { BackendAddress } from '../../backend/address.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { CarriedState } from '../../policy/session-state.js';
import type { SessionSettings } from '../../config/session-settings.js';
import type { DurationCounts } from '../../metrics/duration-histogram.js';
import type { SessionEnv, SessionNames } from './session-env.js';
import { backendFailure } from './refusal.js';
import type { EndedSession } from './session.js';
import type { Logger } from '../../logging/logger.js';
import type { LeaseRequest } from '../pooling/lease.js';
import type { PoolerCommandHook, RelayEnd } from '../relay/relay.js';
import { RequestTiming } from '../relay/request-timing.js';
import type { StatementNames } from '../transaction/tx-messages.js';
import type { TxLogin, TxPool } from '../transaction/tx-pool.js';
import { TxRelay } from '../transaction/tx-relay.js';
import type { TxRequests } from '../transaction/tx-requests.js';
import { TxReadRouting } from '../transaction/tx-routing.js';
import type { InternalQuery } from '../routing/catalog-facts.js';
import type { TxRelayDeps } from '../transaction/tx-relay-deps.js';

const RESET_TIMEOUT_MS = 10_000;
/** Pipelined requests timed at once: an idle client should cost little (docs/transaction-pooling.md#sizing). */
const TIMED_REQUESTS = 8;

/** What a transaction-mode session gets from the worker. */
export interface TxSessionHost {
  /** The session's start-up: its connections' key and startup settings. */
  readonly login: TxLogin;
  readonly pool: TxPool;
  readonly names: StatementNames;
  /** Takes a child for the session (first come, first served). */
  enter(): Promise<void>;
  /** Takes a child now if one is idle and nobody waits. */
  enterNow(): boolean;
  /** Gives the session's child back (nothing when it holds none). */
  leave(): void;
  /** The session is over (after run() gave 'relaying'). */
  over(result: EndedSession): void;
}

export interface TxRelayStart {
  readonly client: net.Socket;
  readonly conn: ServerConnection;
  readonly request: LeaseRequest;
  /** The cancel key's targets: the connection of the transaction running now. */
  readonly cancelTargets: CancelTarget[];
  readonly durations: { readonly queries: DurationCounts; readonly transactions: DurationCounts };
  /** The session's load-balance node, when reads may go there (streaming replication, load_balance_mode). */
  readonly standby?: BackendAddress;
  /** Who the session is, for the redirect lists (statement_level_load_balance chooses per transaction). */
  readonly names: SessionNames;
  /** For the session's end: its cancel key, and whether the login's connection was reused. */
  readonly keyHandle: string;
  readonly reused: boolean;
}

/** The session as its relay sees it. */
export interface TxSessionView {
  readonly settings: SessionSettings;
  settingsChanged(): void;
  readonly log: Logger;
  /** The connection the session is on now. */
  leased: ServerConnection | undefined;
  transactionsOver(end: RelayEnd, keyHandle: string, conn: ServerConnection, reused: boolean): Promise<void>;
}

/**
 * What the relay asks of its session and worker, as one object whose methods are shared:
 * an idle client keeps this, not a closure (and a context holding its start-up) per call.
 */
class SessionTxDeps implements TxRelayDeps {
  readonly pool: TxPool;
  readonly names: StatementNames;
  readonly state: CarriedState;
  readonly startup: ReadonlyMap<string, string>;
  readonly maxPrepared: number;
  readonly timing: RequestTiming;
  private readonly loginPassword: ServerConnection['password'];
  private readonly keyHandle: string;
  private readonly reused: boolean;
  /** Load balancing (transaction/tx-routing.ts), and whether the transaction now runs on the standby. */
  readonly routing: TxReadRouting | undefined;
  private onStandby = false;

  constructor(
    private readonly host: TxSessionHost,
    private readonly env: SessionEnv,
    private readonly session: TxSessionView,
    readonly client: net.Socket,
    private readonly cancelTargets: CancelTarget[],
    private readonly user: string,
    private readonly database: string,
    private readonly key: Buffer,
    private readonly address: BackendAddress,
    /** pool_hba on: the client's own (else the first connection's is used). */
    private readonly clientPassword: PasswordSource | undefined,
    private readonly login: ServerConnection,
    start: TxRelayStart,
  ) {
    this.keyHandle = start.keyHandle;
    this.reused = start.reused;
    // A walsender's session is pinned to its node; it never balances.
    this.routing =
      start.standby && !start.request.replication
        ? new TxReadRouting(start.standby, database, env, start.names)
        : undefined;
    this.loginPassword = login.password;
    this.pool = host.pool;
    this.names = host.names;
    this.state = host.pool.sessionOf(login).state;
    this.startup = host.login.settings;
    this.maxPrepared = env.config.max_prepared_statements;
    this.timing = new RequestTiming(start.durations.queries, start.durations.transactions, TIMED_REQUESTS);
  }

  enter(): Promise<void> {
    return this.host.enter();
  }
  enterNow(): boolean {
    return this.host.enterNow();
  }
  leave(): void {
    this.host.leave();
  }
  route(pending: readonly Buffer[], requests: TxRequests): boolean {
    const r = this.routing;
    this.onStandby = r !== undefined && r.onStandby(pending, requests, this.address.node);
    return this.onStandby;
  }
  get learning(): boolean {
    return this.routing?.learning ?? false;
  }
  learn(ask: InternalQuery): Promise<void> {
    return this.routing?.learn(ask) ?? Promise.resolve();
  }
  /** Where the transaction runs: the session's node, or its load-balance node for a read. */
  private get target(): BackendAddress {
    return this.onStandby ? this.routing!.standby : this.address;
  }
  openNow(): ServerConnection | undefined {
    return this.pool.takeIdle(this.user, this.database, this.key, this.target.node);
  }
  async open(): Promise<ServerConnection> {
    // Never asked of the client mid-session: the first connection's, or pool_passwd's.
    const loginPassword = this.loginPassword;
    const password = this.clientPassword ?? (() => Promise.resolve(loginPassword));
    const take = async (a: BackendAddress) => {
      const lease = await this.pool.take(this.user, this.database, this.key, a, password);
      // A node's first connection tells the node table it is up (SHOW pool_nodes: waiting → up).
      if (!lease.reused) this.env.nodeConnected(a.node);
      return lease.conn;
    };
    if (!this.onStandby) return take(this.address);
    try {
      return await take(this.routing!.standby);
    } catch (e) {
      // As a session whose load-balance node cannot be reached: logged (and detached, if so
      // configured) as in session mode, and the primary serves the transaction.
      backendFailure(e, this.routing!.standby, false, this.env, this.session.log);
      this.onStandby = false;
      return take(this.address);
    }
  }
  leased(conn: ServerConnection | undefined): void {
    this.cancelTargets.length = 0;
    if (conn) this.cancelTargets.push(cancelTargetOf(conn));
    this.session.leased = conn;
  }
  pinPolicy(): 'pin' | 'error' {
    return this.env.config.pin_policy;
  }
  poolerCommand(query: string): ReturnType<PoolerCommandHook> {
    const session = this.session;
    return this.env.poolerCommand(query, session.settings, () => session.settingsChanged());
  }
  log(): Logger {
    return this.session.log;
  }
  onEnd(end: RelayEnd): void {
    void this.session.transactionsOver(end, this.keyHandle, this.login, this.reused);
  }
}

/** The relay for the rest of the session (the session starts it); its end calls session.transactionsOver(). */
export function transactionRelay(
  host: TxSessionHost,
  env: SessionEnv,
  session: TxSessionView,
  s: TxRelayStart,
): TxRelay {
  const login = s.conn;
  // Only what later transactions need is kept: an idle client holds no more of its start-up.
  const { user, database, address, replication } = s.request;
  const key = host.login.key ?? s.request.cacheKey;
  const clientPassword = env.auth.hba ? s.request.password : undefined;
  const deps = new SessionTxDeps(
    host,
    env,
    session,
    s.client,
    s.cancelTargets,
    user,
    database,
    key,
    address,
    clientPassword,
    login,
    s,
  );
  const relay = new TxRelay(deps);
  if (deps.routing) standbyOf.set(relay, deps.routing.standby.node);
  // A walsender keeps its backend for the whole session (its slots and streams are there).
  if (replication) relay.pinForSession('replication connection');
  return relay;
}

/**
 * After the end: a connection the client still held (it left mid-transaction, or pinned) is
 * reset with reset_query_list and pooled only when that list discards everything the
 * session left (DISCARD ALL); otherwise, or after any other end, it is closed. The child
 * goes back when the session is over (tx-accept.ts).
 */
export async function settleTransactions(
  host: TxSessionHost,
  relay: TxRelay,
  end: RelayEnd,
  cfg: PgpoolConfig,
  sending?: (q: string, conn: ServerConnection) => void,
): Promise<boolean> {
  const conn = relay.takeHeld();
  if (!conn) return false;
  let kept = false;
  const discards = cfg.reset_query_list.some((q) => /^\s*discard\s+all\s*$/i.test(q));
  // It stays leased to the pool while reset: the pool's idle connections are leased ones.
  if ((end.kind === 'terminate' || end.kind === 'client-gone') && discards && !conn.closed) {
    const outcome = await resetConnection(conn, relay.stream, {
      queries: cfg.reset_query_list,
      timeoutMs: RESET_TIMEOUT_MS,
      sending: sending && ((q) => sending(q, conn)),
    });
    if (outcome.clean && !conn.closed) {
      host.pool.forgetSession(conn);
      host.pool.put(conn);
      kept = true;
    }
  }
  if (!kept) conn.close();
  return kept;
}

/** Whether a transaction-mode session sends reads to `node` (its load-balance node): a failover of it ends the session, as pgpool's. */
export function readsFrom(session: { readonly relay: unknown }, node: number): boolean {
  return session.relay instanceof TxRelay && standbyOf.get(session.relay) === node;
}

/** The load-balance node of each relay that balances reads. */
const standbyOf = new WeakMap<TxRelay, number>();
