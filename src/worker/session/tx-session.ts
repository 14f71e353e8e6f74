// A session in transaction pooling mode (docs/transaction-pooling.md), as the session sees
// it: the child it holds only for its start-up and each transaction, the relay that gives
// the backend connection back between transactions, and what happens to a connection the
// client still held when it left.
import type net from 'node:net';
import { cancelTargetOf, type CancelTarget } from '../../backend/cancel.js';
import type { PasswordSource } from '../../backend/connector.js';
import { resetConnection } from '../../backend/reset.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { SessionSettings } from '../../config/session-settings.js';
import type { DurationCounts } from '../../metrics/duration-histogram.js';
import type { SessionEnv } from './session-env.js';
import type { Logger } from '../../logging/logger.js';
import type { LeaseRequest } from '../pooling/lease.js';
import type { RelayEnd } from '../relay/relay.js';
import { RequestTiming } from '../relay/request-timing.js';
import type { StatementNames } from '../transaction/tx-messages.js';
import type { TxLogin, TxPool } from '../transaction/tx-pool.js';
import { TxRelay } from '../transaction/tx-relay.js';

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
}

export interface TxRelayStart {
  readonly client: net.Socket;
  readonly conn: ServerConnection;
  readonly request: LeaseRequest;
  /** The cancel key's targets: the connection of the transaction running now. */
  readonly cancelTargets: CancelTarget[];
  readonly durations: { readonly queries: DurationCounts; readonly transactions: DurationCounts };
}

/** The session as its relay sees it. */
export interface TxSessionView {
  readonly settings: SessionSettings;
  settingsChanged(): void;
  readonly log: Logger;
  /** The connection the session is on now. */
  leased: ServerConnection | undefined;
}

/** The relay for the rest of the session, started; `done` resolves when the client is gone or stopped. */
export function transactionRelay(
  host: TxSessionHost,
  env: SessionEnv,
  session: TxSessionView,
  s: TxRelayStart,
  extra: Buffer,
  rest: Buffer,
): { relay: TxRelay; done: Promise<RelayEnd>; start(): void } {
  const login = s.conn;
  // Only what later transactions need is kept: an idle client holds no more of its start-up.
  const { user, database, address, replication } = s.request;
  const key = host.login.key ?? s.request.cacheKey;
  const loginPassword = login.password;
  // Never asked of the client mid-session: the first connection's, or pool_passwd's.
  const password: PasswordSource = env.auth.hba ? s.request.password : () => Promise.resolve(loginPassword);
  let resolve!: (end: RelayEnd) => void;
  const done = new Promise<RelayEnd>((r) => (resolve = r));
  const relay = new TxRelay({
    client: s.client,
    pool: host.pool,
    names: host.names,
    enter: () => host.enter(),
    enterNow: () => host.enterNow(),
    openNow: () => host.pool.takeIdle(user, database, key, address.node),
    state: host.pool.sessionOf(login).state,
    startup: host.login.settings,
    leave: () => host.leave(),
    open: async () => (await host.pool.take(user, database, key, address, password)).conn,
    leased: (conn) => {
      s.cancelTargets.length = 0;
      if (conn) s.cancelTargets.push(cancelTargetOf(conn));
      session.leased = conn;
    },
    pinPolicy: () => env.config.pin_policy,
    maxPrepared: env.config.max_prepared_statements,
    poolerCommand: (query) => env.poolerCommand(query, session.settings, () => session.settingsChanged()),
    timing: new RequestTiming(s.durations.queries, s.durations.transactions, TIMED_REQUESTS),
    log: () => session.log,
    onEnd: resolve,
  });
  // Started by the session once its logging is set up, so the tap sees the first message.
  // A walsender keeps its backend for the whole session (its slots and streams are there).
  if (replication) relay.pinForSession('replication connection');
  return { relay, done, start: () => relay.start(login, extra, rest) };
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
