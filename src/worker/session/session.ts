// One client's session in a child: backend connection from the cache or new, the
// greeting, the relay, and the release (reset and cache, or close) at the end.
import type net from 'node:net';
import { unitMs } from '../../config/accessors.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { PoolPasswdEntry } from '../../config/pool-passwd.js';
import { backendAuthFailed, ClientAuthenticator, type BackendMethod, type Secret } from '../../auth/frontend-auth.js';
import { matchHba, plainAddress, type HbaEnv } from '../../auth/hba-match.js';
import type { HbaRecord } from '../../config/pool-hba.js';
import { authenticationOk, backendKeyData, errorResponse, readyForQuery } from '../../protocol/backend-write.js';
import type { StartupPacket } from '../../protocol/frontend-read.js';
import { backendUnreachable, clientIdleLimit, noBackend, PoolerError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { sessionLogger, type Logger } from '../../logging/logger.js';
import {
  BackendConnectError,
  BackendConnection,
  BackendRefusedError,
  describeTarget,
  randomCancelKey,
  type BackendTarget,
  type PasswordSource,
} from '../../backend/server-connection.js';
import type { ConnectionCache } from '../pooling/connection-cache.js';
import { NEVER_CACHED_DATABASES } from '../pooling/connection-cache.js';
import { MessageStream } from '../../protocol/message-stream.js';
import { Relay, type AdminHook, type RelayEnd } from '../relay/relay.js';
import { SessionSettings } from '../../config/session-settings.js';
import { answerPgpoolCommand, parsePgpoolCommand } from '../../admin/pgpool-commands.js';
import type { DurationCounts } from '../../metrics/duration-histogram.js';
import { RequestTiming } from '../relay/request-timing.js';
import { ClientMessageLog, perNodeStatement } from '../relay/client-message-log.js';

export type Startup = Extract<StartupPacket, { kind: 'startup' }>;

export interface SessionDeps {
  /** The running configuration now: a reload may change it during the session. */
  readonly config: () => PgpoolConfig;
  readonly target: BackendTarget | undefined;
  readonly passwd: (user: string) => PoolPasswdEntry | undefined;
  /** The key for pool_passwd's AES entries, when one was read. */
  readonly poolKey: string | undefined;
  /** pool_hba.conf when enable_pool_hba = on: its records, or why it cannot be used. */
  readonly hba: { readonly records: readonly HbaRecord[]; readonly broken: boolean } | undefined;
  readonly hbaEnv: HbaEnv;
  /** Answers SHOW pool_* (relay.ts AdminHook). */
  readonly admin: AdminHook;
  /** Durations for the worker's histograms, in seconds. */
  readonly observe: { readonly connect: (s: number) => void; readonly reset: (s: number) => void };
  /** Where this database's query and transaction durations are counted. */
  readonly durations: (database: string) => { readonly queries: DurationCounts; readonly transactions: DurationCounts };
  /** The session has its backend connection and gives the client this cancel key. */
  readonly started: (pid: number, key: Buffer, conn: BackendConnection) => void;
  /** The worker's logger now (remade on reload). */
  readonly log: () => Logger;
}

export interface SessionResult {
  readonly end: RelayEnd['kind'] | 'refused';
  readonly reused: boolean;
  readonly backendPid: number;
  readonly cached: boolean;
}

const AUTH_TIMEOUT_MS = 60_000;
const RESET_TIMEOUT_MS = 10_000;

/** Runs the session to its end; never throws. */
export class Session {
  relay: Relay | undefined;
  /** The backend connection the client is using, once it has one (for reports). */
  conn: BackendConnection | undefined;
  readonly startedAt = Date.now();
  get clientAddress(): string | undefined {
    return this.client.remoteAddress;
  }
  get clientPort(): number | undefined {
    return this.client.remotePort;
  }
  private stopReason: string | undefined;
  /** PGPOOL SET overrides of the session-context parameters. */
  readonly settings: SessionSettings;
  private messageLog: ClientMessageLog | undefined;
  /** The worker's logger, or a child of it when PGPOOL SET changed the level or verbosity. */
  private log: Logger;

  constructor(
    private readonly client: net.Socket,
    private readonly startup: Startup,
    /** The sorted startup packet: what the backend is sent and the cache key. */
    private readonly cacheKey: Buffer,
    private readonly clientRest: Buffer,
    private readonly cache: ConnectionCache,
    private readonly deps: SessionDeps,
  ) {
    this.settings = new SessionSettings(deps.config);
    this.log = deps.log();
  }

  /** client_idle_limit (seconds, 0 = off; PGPOOL SET may change it): ends a session idle longer than that, as pgpool does. */
  enforceIdleLimit(now: number): boolean {
    const limitSeconds = this.settings.get('client_idle_limit');
    if (limitSeconds <= 0 || !this.relay || this.relay.clientIdleFor(now) <= unitMs('client_idle_limit', limitSeconds))
      return false;
    this.log.info(
      {
        user: this.startup.user,
        database: this.startup.database,
        client: this.peer,
        backendPid: this.conn?.pid,
        limit: limitSeconds,
      },
      'unable to read data: client_idle_limit reached',
    );
    this.stop('client_idle_limit', clientIdleLimit(limitSeconds));
    return true;
  }

  /** Ends the session from outside: fast shutdown, client_idle_limit. */
  stop(reason: string, error?: PoolerError): void {
    this.stopReason = reason;
    if (error && !this.client.destroyed) this.client.write(errorResponse(error));
    if (this.relay) this.relay.stop(reason);
    else this.client.destroy();
  }

  async run(): Promise<SessionResult> {
    const { user, database, version } = this.startup;
    const stream = new MessageStream(this.client);
    let conn: BackendConnection | undefined;
    let extra: Buffer = Buffer.alloc(0);
    let reused = false;
    const auth = new ClientAuthenticator({
      client: this.client,
      stream,
      user,
      entry: this.deps.passwd(user),
      poolKey: this.deps.poolKey,
      timeoutMs: AUTH_TIMEOUT_MS,
    });
    try {
      // pool_hba on: the client proves itself to pgpool-ts first, whether or not a connection is cached (§6.3).
      const proved = this.deps.hba ? await this.authenticateByHba(auth) : undefined;
      const held = proved?.held;
      conn = this.cache.take(user, database, this.cacheKey);
      if (conn) {
        reused = true;
        try {
          if (!proved) await auth.proveForReuse(conn.authMethod, conn.password);
          else if (proved.unchecked !== undefined) auth.checkReuse(proved.unchecked, conn.authMethod, conn.password);
        } catch (e) {
          this.cache.put(conn); // the connection is fine; the client is not
          throw e;
        }
      } else {
        const target = this.deps.target;
        if (!target) throw noBackend();
        this.cache.makeRoom();
        const source: PasswordSource = this.deps.hba
          ? async (method) => heldPassword(method, held)
          : (method) => auth.forBackend(method, this.deps.config().allow_clear_text_frontend_auth);
        try {
          const t0 = performance.now();
          ({ conn, extra } = await BackendConnection.open(target, this.cacheKey, user, database, source));
          this.deps.observe.connect((performance.now() - t0) / 1000);
        } catch (e) {
          if (e instanceof BackendConnectError && e.kind === 'unreachable')
            throw backendUnreachable(target.node, describeTarget(target), e.message);
          throw e;
        }
      }
    } catch (e) {
      stream.detach();
      this.refuse(e);
      return { end: 'refused', reused, backendPid: conn?.pid ?? 0, cached: false };
    }
    const clientRest = Buffer.concat([this.clientRest, stream.detach()]);
    if (this.stopReason) {
      conn.close();
      this.client.destroy();
      return { end: 'stopped', reused, backendPid: conn.pid, cached: false };
    }
    conn.timesUsed++;
    this.conn = conn;
    const cancelKey = randomCancelKey(effectiveMinor(version, conn) >= 2 ? 32 : 4);
    // Announced before the greeting, so the key is known before the client can use it.
    this.deps.started(conn.pid, cancelKey, conn);
    this.greet(conn, reused, cancelKey);
    const d = this.deps.durations(database);
    const end = await new Promise<RelayEnd>((resolve) => {
      this.relay = new Relay(
        this.client,
        conn!.socket,
        (e) => resolve(e),
        this.adminHook,
        new RequestTiming(d.queries, d.transactions),
      );
      this.settingsChanged();
      this.relay.start(extra, clientRest);
    });
    this.conn = undefined;
    const cached = await this.release(conn, end, this.relay!);
    return { end: end.kind, reused, backendPid: conn.pid, cached };
  }

  /** PGPOOL SHOW/SET/RESET are the session's; SHOW pool_* go to the worker's hook. */
  private readonly adminHook: AdminHook = (query) => {
    const cmd = parsePgpoolCommand(query);
    if (!cmd) return this.deps.admin(query);
    return answerPgpoolCommand(cmd, this.deps.config(), this.settings, () => this.settingsChanged());
  };

  /** After PGPOOL SET/RESET or a reload: the logger and statement and message logging follow the values in effect. */
  settingsChanged(): void {
    const cfg = this.deps.config();
    const level = this.settings.get('log_min_messages');
    const verbosity = this.settings.get('log_error_verbosity');
    const ownLog = level !== cfg.log_min_messages || verbosity !== cfg.log_error_verbosity;
    this.log = ownLog ? sessionLogger(this.deps.log(), level, verbosity) : this.deps.log();
    const relay = this.relay;
    if (!relay || !this.conn) return;
    const switches = {
      statement: this.settings.get('log_statement'),
      perNodeStatement: this.settings.get('log_per_node_statement'),
      clientMessages: this.settings.get('log_client_messages'),
    };
    if (!switches.statement && !switches.perNodeStatement && !switches.clientMessages) {
      if (this.messageLog) relay.setTap(undefined);
      this.messageLog = undefined;
    } else if (this.messageLog) {
      this.messageLog.switches = switches;
      this.messageLog.log = this.connectionLog(this.conn);
    } else {
      const messageLog = (this.messageLog = new ClientMessageLog(
        this.connectionLog(this.conn),
        switches,
        this.conn.pid,
      ));
      relay.setTap((chunk) => messageLog.feed(chunk));
    }
  }

  /** Lines about this connection name the client and its backend. */
  private connectionLog(conn: BackendConnection): Logger {
    return this.log.child({
      user: this.startup.user,
      database: this.startup.database,
      client: this.peer,
      backendPid: conn.pid,
    });
  }

  /** The client as log lines name it. */
  get peer(): string {
    return peerOf(this.client);
  }

  /** §6.1/§6.3: the first pool_hba.conf record that applies decides how the client is proved. */
  private async authenticateByHba(
    auth: ClientAuthenticator,
  ): Promise<{ held: Secret | undefined; unchecked?: string }> {
    const hba = this.deps.hba!;
    const { user, database } = this.startup;
    const ssl = (this.client as { encrypted?: boolean }).encrypted === true;
    const address = this.client.remoteAddress;
    if (hba.broken)
      throw new PoolerError(
        'HBA',
        SqlState.InvalidAuthorizationSpecification,
        'client authentication failed',
        'FATAL',
        'missing or erroneous pool_hba.conf file',
        'see pgpool log for details',
      );
    const record = await matchHba(
      hba.records,
      { local: address === undefined, ssl, address, database, user },
      this.deps.hbaEnv,
    );
    if (!record || record.method === 'reject') {
      const host = address === undefined ? '[local]' : plainAddress(address);
      this.log.info(
        { user, database, client: this.peer, line: record?.line },
        record ? `pool_hba.conf line ${record.line} rejects the client` : 'no pool_hba.conf entry matches the client',
      );
      throw new PoolerError(
        'HBA',
        SqlState.InvalidAuthorizationSpecification,
        'client authentication failed',
        'FATAL',
        `no pool_hba.conf entry for host "${host}", user "${user}", database "${database}", SSL ${ssl ? 'on' : 'off'}`,
        'see pgpool log for details',
      );
    }
    return auth.byHba(record.method);
  }

  private refuse(e: unknown): void {
    if (this.client.destroyed) return;
    if (e instanceof BackendRefusedError) {
      this.client.end(e.raw); // PostgreSQL's own error, byte for byte
      this.log.info(
        { user: this.startup.user, database: this.startup.database, client: this.peer, sqlstate: e.fields.get('C') },
        `backend refused the connection: ${e.message}`,
      );
      return;
    }
    let err: PoolerError;
    if (e instanceof PoolerError) err = e;
    else if (e instanceof BackendConnectError && e.kind === 'auth') {
      err = new PoolerError(
        'BACKEND_AUTH',
        SqlState.InvalidPassword,
        'failed to authenticate with backend',
        'FATAL',
        `${e.message} (pgpool-ts to PostgreSQL)`,
        'add the user to pool_passwd, or set allow_clear_text_frontend_auth = on',
      );
    } else {
      err = new PoolerError(
        'BACKEND_START',
        SqlState.ConnectionFailure,
        'failed to create a backend connection',
        'FATAL',
        (e as Error).message,
      );
    }
    this.log.info(
      {
        user: this.startup.user,
        database: this.startup.database,
        client: this.peer,
        code: err.code,
        sqlstate: err.sqlstate,
        detail: err.detail,
        hint: err.hint,
      },
      err.message,
    );
    this.client.end(errorResponse(err));
  }

  private greet(conn: BackendConnection, reused: boolean, cancelKey: Buffer): void {
    const parts: Buffer[] = [];
    if (conn.negotiate) parts.push(conn.negotiate);
    parts.push(authenticationOk());
    // Fresh: ParameterStatus then BackendKeyData, as PostgreSQL sends them; reused: K before S (pgpool §5.6).
    const statuses = conn.parameterStatuses();
    const key = backendKeyData(conn.pid, cancelKey);
    if (reused) parts.push(key, statuses);
    else parts.push(statuses, key);
    parts.push(readyForQuery(conn.txStatus));
    this.client.write(Buffer.concat(parts));
  }

  /** pgpool §5.5: reset and cache after Terminate; close in every other case. */
  private async release(conn: BackendConnection, end: RelayEnd, relay: Relay): Promise<boolean> {
    const cfg = this.deps.config();
    let cached = false;
    // The last ReadyForQuery the client saw says whether ABORT is needed.
    conn.txStatus = relay.be.txStatus;
    if (
      end.kind === 'terminate' &&
      cfg.connection_cache &&
      !NEVER_CACHED_DATABASES.has(conn.database) &&
      cfg.max_pool > 0
    ) {
      const pending = relay.fe.readyRequests - relay.be.readyCount;
      const t0 = performance.now();
      // log_per_node_statement shows the reset queries too, as pgpool's does.
      const log = this.settings.get('log_per_node_statement') ? this.connectionLog(conn) : undefined;
      const clean = await conn.reset(
        cfg.reset_query_list,
        pending,
        relay.fe.unsynced,
        relay.be.inCopyIn,
        RESET_TIMEOUT_MS,
        log && ((q) => log.info(perNodeStatement(conn.pid, q))),
      );
      this.deps.observe.reset((performance.now() - t0) / 1000);
      if (clean) {
        this.cache.put(conn);
        cached = true;
      }
    }
    if (!cached) conn.close();
    if (end.kind === 'protocol-error' && !this.client.destroyed) {
      this.client.write(
        errorResponse(
          new PoolerError('PROTOCOL', SqlState.ProtocolViolation, 'invalid frontend message', 'FATAL', end.message),
        ),
      );
    }
    // end() unless already ended (a second end() only builds an error), then close.
    this.client.destroySoon();
    return cached;
  }
}

/** A client as log lines name it: address:port, or [local] for a Unix socket. */
export function peerOf(s: net.Socket): string {
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : '[local]';
}

/** pool_hba on (§6.3 step 3): PostgreSQL gets what pgpool-ts holds, or nothing. */
function heldPassword(method: BackendMethod, held: Secret | undefined): string {
  if (!held) throw backendAuthFailed(method, 'valid password not found');
  if (held.kind === 'plain') return held.password;
  if (method !== 'md5') throw backendAuthFailed(method, 'valid password not found: pool_passwd holds only an md5 hash');
  return held.stored;
}

/** The protocol minor version in effect: the backend's NegotiateProtocolVersion caps the client's. */
function effectiveMinor(version: number, conn: BackendConnection): number {
  const asked = version & 0xffff;
  if (!conn.negotiate) return asked;
  return Math.min(asked, conn.negotiate.readInt32BE(5) & 0xffff);
}
