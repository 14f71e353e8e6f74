// One client's session in a child: backend connection from the cache or new, the
// greeting, the relay, and the release (reset and cache, or close) at the end.
import type net from 'node:net';
import type { PgpoolConfig } from '../config/schema.js';
import type { PoolPasswdEntry } from '../config/pool-passwd.js';
import { askClearText, challengeMd5 } from '../auth/client-challenge.js';
import { authenticationOk, backendKeyData, errorResponse, parameterStatus, readyForQuery } from '../protocol/backend-write.js';
import { sortedStartupPacket, type StartupPacket } from '../protocol/frontend-read.js';
import { backendUnreachable, clientIdleLimit, noBackend, PoolerError } from '../protocol/pooler-error.js';
import { SqlState } from '../protocol/sqlstate.js';
import type { Logger } from '../log.js';
import { BackendConnectError, BackendConnection, BackendRefusedError, describeTarget, randomCancelKey, type BackendTarget, type PasswordSource } from './backend-connection.js';
import type { ConnectionCache } from './connection-cache.js';
import { NEVER_CACHED_DATABASES } from './connection-cache.js';
import { MessageStream } from './message-stream.js';
import { Relay, type RelayEnd } from './relay.js';
import { answerAdminQuery } from '../admin/show-commands.js';

export type Startup = Extract<StartupPacket, { kind: 'startup' }>;

export interface SessionDeps {
  readonly config: PgpoolConfig;
  readonly target: BackendTarget | undefined;
  readonly passwd: (user: string) => PoolPasswdEntry | undefined;
  /** The session has its backend connection and gives the client this cancel key. */
  readonly started: (pid: number, key: Buffer, conn: BackendConnection) => void;
  readonly log: Logger;
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
  private stopReason: string | undefined;

  constructor(
    private readonly client: net.Socket,
    private readonly startup: Startup,
    private readonly clientRest: Buffer,
    private readonly cache: ConnectionCache,
    private readonly deps: SessionDeps,
  ) {}

  /** client_idle_limit (seconds, 0 = off): ends a session idle longer than that, as pgpool does. */
  enforceIdleLimit(now: number, limitSeconds: number): boolean {
    if (limitSeconds <= 0 || !this.relay || this.relay.clientIdleFor(now) <= limitSeconds * 1000) return false;
    this.deps.log.info({ user: this.startup.user, database: this.startup.database, limit: limitSeconds }, 'unable to read data: client_idle_limit reached');
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
    const { user, database, version, params } = this.startup;
    const key = sortedStartupPacket(version, params);
    const stream = new MessageStream(this.client);
    let conn: BackendConnection | undefined;
    let extra: Buffer = Buffer.alloc(0);
    let reused = false;
    try {
      conn = this.cache.take(user, database, key);
      if (conn) {
        reused = true;
        await this.proveClientForReuse(conn, stream);
      } else {
        const target = this.deps.target;
        if (!target) throw noBackend();
        this.cache.makeRoom();
        try {
          ({ conn, extra } = await BackendConnection.open(target, key, user, database, this.passwordSource(stream)));
        } catch (e) {
          if (e instanceof BackendConnectError && e.kind === 'unreachable') throw backendUnreachable(target.node, describeTarget(target), e.message);
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
    const cancelKey = randomCancelKey(effectiveMinor(version, conn) >= 2 ? 32 : 4);
    // Announced before the greeting, so the key is known before the client can use it.
    this.deps.started(conn.pid, cancelKey, conn);
    this.greet(conn, reused, cancelKey);
    const end = await new Promise<RelayEnd>((resolve) => {
      this.relay = new Relay(this.client, conn!.socket, (e) => resolve(e), answerAdminQuery);
      this.relay.start(extra, clientRest);
    });
    const cached = await this.release(conn, end, this.relay!);
    return { end: end.kind, reused, backendPid: conn.pid, cached };
  }

  /** pgpool §6.4: the backend's method decides what the client is asked. */
  private passwordSource(stream: MessageStream): PasswordSource {
    return async (method) => {
      const entry = this.deps.passwd(this.startup.user);
      if (entry && (entry.kind === 'text' || entry.kind === 'md5')) {
        if (entry.kind === 'md5' && method !== 'md5') return undefined;
        const ok = await challengeMd5(this.client, stream, this.startup.user, entry.secret, AUTH_TIMEOUT_MS);
        if (!ok) throw new PoolerError('CLIENT_AUTH', SqlState.InvalidPassword, 'md5 authentication failed', 'FATAL', 'password does not match (client to pgpool-ts)');
        return entry.secret;
      }
      if (this.deps.config.allow_clear_text_frontend_auth) return askClearText(this.client, stream, AUTH_TIMEOUT_MS);
      return undefined;
    };
  }

  /** A cached connection made with a password goes only to a client that proves the same password. */
  private async proveClientForReuse(conn: BackendConnection, stream: MessageStream): Promise<void> {
    if (conn.authMethod === 'trust') return;
    const entry = this.deps.passwd(this.startup.user);
    const secret = entry && (entry.kind === 'text' || entry.kind === 'md5') ? entry.secret : conn.password;
    const ok = secret !== undefined && (await challengeMd5(this.client, stream, this.startup.user, secret, AUTH_TIMEOUT_MS));
    if (!ok) {
      this.cache.put(conn); // the connection is fine; the client is not
      throw new PoolerError('CLIENT_AUTH', SqlState.InvalidPassword, 'md5 authentication failed', 'FATAL', 'password does not match (client to pgpool-ts)');
    }
  }

  private refuse(e: unknown): void {
    if (this.client.destroyed) return;
    if (e instanceof BackendRefusedError) {
      this.client.end(e.raw); // PostgreSQL's own error, byte for byte
      this.deps.log.info({ user: this.startup.user, database: this.startup.database, sqlstate: e.fields.get('C') }, `backend refused the connection: ${e.message}`);
      return;
    }
    let err: PoolerError;
    if (e instanceof PoolerError) err = e;
    else if (e instanceof BackendConnectError && e.kind === 'auth') {
      err = new PoolerError('BACKEND_AUTH', SqlState.InvalidPassword, 'failed to authenticate with backend', 'FATAL', `${e.message} (pgpool-ts to PostgreSQL)`, 'add the user to pool_passwd, or set allow_clear_text_frontend_auth = on');
    } else {
      err = new PoolerError('BACKEND_START', SqlState.ConnectionFailure, 'failed to create a backend connection', 'FATAL', (e as Error).message);
    }
    this.deps.log.info({ user: this.startup.user, database: this.startup.database, code: err.code }, `${err.message}: ${err.detail ?? ''}`);
    this.client.end(errorResponse(err));
  }

  private greet(conn: BackendConnection, reused: boolean, cancelKey: Buffer): void {
    const parts: Buffer[] = [];
    if (conn.negotiate) parts.push(conn.negotiate);
    parts.push(authenticationOk());
    // Fresh: ParameterStatus then BackendKeyData, as PostgreSQL sends them; reused: K before S (pgpool §5.6).
    const statuses = [...conn.params].map(([k, v]) => parameterStatus(k, v));
    const key = backendKeyData(conn.pid, cancelKey);
    if (reused) parts.push(key, ...statuses);
    else parts.push(...statuses, key);
    parts.push(readyForQuery(conn.txStatus));
    this.client.write(Buffer.concat(parts));
  }

  /** pgpool §5.5: reset and cache after Terminate; close in every other case. */
  private async release(conn: BackendConnection, end: RelayEnd, relay: Relay): Promise<boolean> {
    const cfg = this.deps.config;
    let cached = false;
    // The last ReadyForQuery the client saw says whether ABORT is needed.
    conn.txStatus = relay.be.txStatus;
    if (end.kind === 'terminate' && cfg.connection_cache && !NEVER_CACHED_DATABASES.has(conn.database) && cfg.max_pool > 0) {
      const pending = relay.fe.readyRequests - relay.be.readyCount;
      const clean = await conn.reset(cfg.reset_query_list, pending, relay.fe.unsynced, relay.be.inCopyIn, RESET_TIMEOUT_MS);
      if (clean) {
        this.cache.put(conn);
        cached = true;
      }
    }
    if (!cached) conn.close();
    if (end.kind === 'protocol-error' && !this.client.destroyed) {
      this.client.write(errorResponse(new PoolerError('PROTOCOL', SqlState.ProtocolViolation, 'invalid frontend message', 'FATAL', end.message)));
    }
    // end() unless already ended (a second end() only builds an error), then close.
    this.client.destroySoon();
    return cached;
  }
}

/** The protocol minor version in effect: the backend's NegotiateProtocolVersion caps the client's. */
function effectiveMinor(version: number, conn: BackendConnection): number {
  const asked = version & 0xffff;
  if (!conn.negotiate) return asked;
  return Math.min(asked, conn.negotiate.readInt32BE(5) & 0xffff);
}
