// One client's session in a child (docs/architecture.md#state-machines): authentication,
// a backend connection leased for its route, the greeting, the relay, and the release.
// Its phase changes only in transition(), which arms authentication_timeout for the whole
// start-up (it began when the worker took the socket) and disarms it once relaying starts.
import type net from 'node:net';
import { ClientAuthenticator } from '../../auth/frontend-auth.js';
import { cancelTargetOf } from '../../backend/cancel.js';
import type { BackendAddress } from '../../backend/address.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { unitMs } from '../../config/accessors.js';
import { SessionSettings } from '../../config/session-settings.js';
import type { Logger } from '../../logging/logger.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { poolerError, type PoolerError } from '../../protocol/errors.js';
import type { StartupPacket } from '../../protocol/frontend-read.js';
import { MessageStream } from '../../protocol/message-stream.js';
import { isReplication } from '../../policy/cache-choice.js';
import { sortedStartupPacket } from '../../protocol/frontend-read.js';
import { readClientStartup } from './startup-reader.js';
import type { Lease, LeaseRequest, Pooling } from '../pooling/lease.js';
import { Relay, type PoolerCommandHook, type RelayEnd } from '../relay/relay.js';
import { RoutedRelay } from '../relay/routed-relay.js';
import { ShutdownWatch } from '../relay/shutdown-watch.js';
import { routedRelay } from './routed-session.js';
import { RequestTiming } from '../relay/request-timing.js';
import { cancelKeyLength, effectiveMinor, greeting } from './greeting.js';
import { authenticateByHba, passwordSource, proveReuse } from './hba-auth.js';
import { backendFailure, backendLost, leaseRoute, logRefusal, sessionAddress, refusalBytes } from './refusal.js';
import { peerOf, type SessionEnv } from './session-env.js';
import { SessionLogging } from './session-logging.js';
import { settleTransactions, transactionRelay, type TxSessionHost } from './tx-session.js';
import type { TxRelay } from '../transaction/tx-relay.js';

export type Startup = Extract<StartupPacket, { kind: 'startup' }>;

const NOTHING = Buffer.alloc(0);

/** A startup parameter's value, '' when the client did not send it. */
const paramOf = (s: Startup, name: string): string => s.params.find(([k]) => k === name)?.[1] ?? '';

/**
 * startup: the startup packet is read (SSL/TLS negotiated) · authenticating: the client
 * proves itself · connecting: a backend connection is leased · active: relaying ·
 * releasing: the connection is reset or closed · ended.
 */
export type SessionPhase = 'startup' | 'authenticating' | 'connecting' | 'active' | 'releasing' | 'ended';

export type SessionResult =
  /** No session: the start-up failed or was a CancelRequest. */
  | { readonly end: 'no-session' }
  /** Transaction mode: relaying; the end is told to TxSessionHost.over() (run's promises are not kept meanwhile). */
  | { readonly end: 'relaying' }
  | {
      readonly end: RelayEnd['kind'] | 'refused';
      readonly startup: Startup;
      readonly reused: boolean;
      readonly backendPid: number;
      readonly cached: boolean;
    };
export type EndedSession = Exclude<SessionResult, { end: 'no-session' | 'relaying' }>;

/** The child hosting a session, as the session sees it. */
export interface SessionHost {
  /**
   * The startup packet is in: the session may move to an idle child whose cache holds a
   * connection for it; returns the pool of the child it is on now, or undefined when it
   * must be refused (shutdown).
   */
  placed(session: Session, startup: Startup, cacheKey: Buffer): Pooling | undefined;
  /** A CancelRequest arrived instead of a startup packet. */
  cancel(pid: number, keyHex: string): void;
  /** pool_mode = transaction: the session holds a child only for its start-up and each transaction. */
  readonly transactions?: TxSessionHost;
}

/** Runs the session to its end; never throws. */
export class Session {
  private current: SessionPhase = 'startup';
  private authTimer: NodeJS.Timeout | undefined;
  private relayed: Relay | RoutedRelay | TxRelay | undefined;
  /** The backend connection the client is using, while it has one (for reports). */
  leased: ServerConnection | undefined;
  /** Transaction mode: the node all of the session's transactions go to. */
  private home: number | undefined;
  /** A routed session's connection to its load-balance node. */
  private leasedCompanion: ServerConnection | undefined;
  readonly startedAt = Date.now();
  private stopReason: string | undefined;
  /** PGPOOL SET overrides of the session-context parameters. */
  readonly settings: SessionSettings;
  private logging: SessionLogging | undefined;
  /** The client's socket: the accepted one, or its TLS wrapper once negotiated. */
  private client: net.Socket;
  /** The startup packet, once read. */
  private startup: Startup | undefined;

  constructor(
    accepted: net.Socket,
    /** Bytes the supervisor already read from the client. */
    private initial: Buffer,
    private readonly host: SessionHost,
    private readonly env: SessionEnv,
    /** performance.now() by which start-up and authentication must be over (authentication_timeout; 0 = none). */
    private readonly authDeadline: number,
  ) {
    this.client = accepted;
    this.settings = new SessionSettings(env);
    this.transition('startup');
  }

  get phase(): SessionPhase {
    return this.current;
  }

  get relay(): Relay | RoutedRelay | TxRelay | undefined {
    return this.relayed;
  }

  get conn(): ServerConnection | undefined {
    return this.leased;
  }

  get clientAddress(): string | undefined {
    return this.client.remoteAddress;
  }

  get clientPort(): number | undefined {
    return this.client.remotePort;
  }

  /** The client as log lines name it. */
  get peer(): string {
    return peerOf(this.client);
  }

  get log(): Logger {
    return this.logging?.log ?? this.env.log;
  }

  /**
   * The only mutator of the phase. authentication_timeout has one deadline for the whole
   * start-up: the startup reader holds it while it reads (it knows the socket, TLS or not),
   * this timer from authentication on, until relaying starts.
   */
  private transition(to: SessionPhase): void {
    this.current = to;
    switch (to) {
      case 'startup':
      case 'connecting':
        return;
      case 'authenticating':
        if (this.authDeadline > 0)
          this.authTimer = setTimeout(() => this.authTimedOut(), Math.max(0, this.authDeadline - performance.now()));
        return;
      case 'active':
      case 'releasing':
      case 'ended':
        if (this.authTimer) clearTimeout(this.authTimer);
        this.authTimer = undefined;
        return;
    }
  }

  private authTimedOut(): void {
    if (this.current !== 'authenticating' && this.current !== 'connecting') return;
    const e = poolerError('AUTH_TIMEOUT');
    this.log.info({ client: this.peer, limit: e.limit }, e.message);
    this.stop('authentication_timeout', e);
  }

  /** What is left of authentication_timeout for the next read from the client (ms; 0 = no limit). */
  private remainingAuthMs(): number {
    return this.authDeadline > 0 ? Math.max(1, this.authDeadline - performance.now()) : 0;
  }

  /** client_idle_limit (seconds, 0 = off; PGPOOL SET may change it): ends a session idle longer than that, as pgpool does. */
  enforceIdleLimit(now: number): boolean {
    const limitSeconds = this.settings.get('client_idle_limit');
    const idleMs = this.relayed?.clientIdleFor(now) ?? 0;
    if (limitSeconds <= 0 || idleMs <= unitMs('client_idle_limit', limitSeconds)) return false;
    this.log.info(
      { ...this.who(), backendPid: this.leased?.pid, limit: limitSeconds },
      'unable to read data: client_idle_limit reached',
    );
    this.stop('client_idle_limit', poolerError('IDLE_LIMIT', { limit: limitSeconds }));
    return true;
  }

  /** Whether the session holds a connection to `node` now. */
  usesNode(node: number): boolean {
    return this.leased?.address.node === node || this.leasedCompanion?.address.node === node || this.home === node;
  }

  /** Ends the session from outside: fast shutdown, client_idle_limit, authentication_timeout. */
  stop(reason: string, error?: PoolerError): void {
    this.stopReason = reason;
    // Replies waiting for the end of the turn go before the error.
    if (this.relayed && 'writePending' in this.relayed) this.relayed.writePending();
    if (error && !this.client.destroyed) this.client.write(errorResponse(error));
    if (this.relayed) this.relayed.stop(reason);
    // Not relaying yet: the error is flushed before the socket closes.
    else this.client.destroySoon();
  }

  private who(): { user?: string; database?: string; client: string } {
    return { user: this.startup?.user, database: this.startup?.database, client: this.peer };
  }

  async run(): Promise<SessionResult> {
    const outcome = await readClientStartup(this.client, this.initial, this.remainingAuthMs(), this.env.auth.tls);
    this.initial = NOTHING;
    if (!outcome.ok) {
      const e = outcome.error;
      this.env.log[e?.silent ? e.logLevel : 'debug']({ client: this.peer }, outcome.reason);
      this.transition('ended');
      return { end: 'no-session' };
    }
    if (outcome.packet.kind === 'cancel') {
      this.client.destroy();
      this.host.cancel(outcome.packet.pid, outcome.packet.key.toString('hex'));
      this.transition('ended');
      return { end: 'no-session' };
    }
    const startup = (this.startup = outcome.packet);
    this.client = outcome.socket;
    const cacheKey = sortedStartupPacket(startup.version, startup.params);
    const pool = this.host.placed(this, startup, cacheKey);
    if (!pool) {
      this.client.end(errorResponse(poolerError('SHUTDOWN')));
      this.transition('ended');
      return { end: 'no-session' };
    }
    this.logging = new SessionLogging(this.env, this.settings, startup.user, startup.database, this);
    this.transition('authenticating');
    return this.serve(startup, cacheKey, outcome.rest, pool);
  }

  private async serve(startup: Startup, cacheKey: Buffer, clientRest: Buffer, pool: Pooling): Promise<SessionResult> {
    const { user, database } = startup;
    const messages = new MessageStream(this.client);
    const auth = new ClientAuthenticator({
      client: this.client,
      stream: messages,
      user,
      entry: this.env.auth.entry(user),
      poolKey: this.env.auth.poolKey,
    });
    let lease: Lease;
    let request: LeaseRequest | undefined;
    const names = { user, database, applicationName: paramOf(startup, 'application_name') };
    const plan = this.env.plan(names);
    let address = plan.primary;
    const tx = this.host.transactions;
    try {
      // pool_hba on: the client proves itself to pgpool-ts first, whether or not a connection is cached.
      const proved = this.env.auth.hba
        ? await authenticateByHba(auth, this.env.auth, this.client, { user, database, peer: this.peer }, this.log)
        : undefined;
      this.transition('connecting');
      await tx?.enter();
      address = sessionAddress(plan, this.env.config, (m, f) => this.log.info({ ...this.who(), ...f }, m));
      request = {
        user,
        database,
        cacheKey,
        address,
        proveReuse: (conn) => proveReuse(auth, proved, conn),
        password: passwordSource(this.env, auth, proved),
        replication: isReplication(startup.params),
      };
      ({ lease, request } = await leaseRoute(pool, request, plan, (m, f) => this.log.info({ ...this.who(), ...f }, m)));
      address = request.address;
      if (tx) this.home = address.node; // every transaction goes there, held or not
    } catch (e) {
      messages.detach();
      tx?.leave();
      this.refuse(backendFailure(e, address, true, this.env, this.log), address);
      this.transition('ended');
      return { end: 'refused', startup, reused: false, backendPid: 0, cached: false };
    }
    const { conn, reused, extra } = lease;
    // Load balancing over a second node: its connection too (without it, the primary serves all).
    const companion =
      plan.standby && address === plan.primary && this.env.routing && request && !request.replication && !tx
        ? await pool.leaseCompanion(conn, request, plan.standby, (e) =>
            backendFailure(e, plan.standby, false, this.env, this.log),
          )
        : undefined;
    const rest = Buffer.concat([clientRest, messages.detach()]);
    if (this.stopReason) {
      companion?.conn.close();
      conn.close();
      tx?.leave();
      this.client.destroy();
      this.transition('ended');
      return { end: 'stopped', startup, reused, backendPid: conn.pid, cached: false };
    }
    for (const l of companion ? [lease, companion] : [lease]) {
      if (!l.reused) this.env.nodeConnected(l.conn.address.node);
      l.conn.timesUsed++;
    }
    this.leased = conn;
    this.leasedCompanion = companion?.conn;
    // Registered before the greeting, so the key works as soon as the client has it; it cancels on every node the session holds.
    const cancelTargets = [conn, ...(companion ? [companion.conn] : [])].map(cancelTargetOf);
    const { key: cancelKey, handle: keyHandle } = this.env.cancelKeys.issue(
      conn.pid,
      cancelKeyLength(effectiveMinor(startup.version, conn)),
      cancelTargets,
    );
    this.client.write(greeting(conn, reused, cancelKey, tx?.login.statuses));
    const d = this.env.durations(database);
    if (tx) {
      const lb = address === plan.primary ? plan.standby : undefined;
      const start = { client: this.client, conn, request: request!, cancelTargets, durations: d, keyHandle, reused };
      const relay = (this.relayed = transactionRelay(tx, this.env, this, { ...start, standby: lb, names }));
      this.transition('active');
      this.settingsChanged();
      relay.start(conn, extra, rest);
      return { end: 'relaying' };
    }
    const end = await new Promise<RelayEnd>((resolve) => {
      const lbNode = (companion?.conn ?? conn).address.node;
      const poolerCommand: PoolerCommandHook = (query) =>
        this.env.poolerCommand(query, this.settings, () => this.settingsChanged(), lbNode);
      const timing = new RequestTiming(d.queries, d.transactions);
      this.relayed = companion
        ? routedRelay(
            this.env,
            { client: this.client, peer: this.peer, log: () => this.log, names },
            conn,
            companion.conn,
            startup.database,
            resolve,
            poolerCommand,
            timing,
          )
        : new Relay(this.client, conn.socket, resolve, poolerCommand, timing, conn.address.node);
      // failover_on_backend_shutdown: read the bodies of the backend's errors, and only then.
      if (this.relayed instanceof Relay && this.env.config.failover_on_backend_shutdown)
        this.relayed.watchShutdown(new ShutdownWatch(() => this.env.nodeUnreachable(conn.address.node)));
      this.transition('active');
      this.settingsChanged();
      this.relayed.start(extra, rest);
    });
    this.env.cancelKeys.void(keyHandle);
    this.transition('releasing');
    this.leased = undefined;
    this.leasedCompanion = undefined;
    const relay = this.relayed!;
    const legs = relay instanceof RoutedRelay ? relay.connections : undefined;
    const cached = await pool.release(
      conn,
      legs ? legs[0].stream : relay.stream,
      end.kind,
      {
        sending: this.logging!.resetQueries(conn),
        failed: (why) => this.log.debug({ backendPid: conn.pid, why }, 'backend connection not cached: reset failed'),
      },
      legs?.[1],
    );
    this.endClient(end, conn);
    return { end: end.kind, startup, reused, backendPid: conn.pid, cached };
  }

  /** Transaction mode: the relay ended; the session ends as after a relay, then tx.over() is told. */
  async transactionsOver(end: RelayEnd, keyHandle: string, conn: ServerConnection, reused: boolean): Promise<void> {
    const tx = this.host.transactions!;
    this.env.cancelKeys.void(keyHandle);
    this.transition('releasing');
    const relay = this.relayed as TxRelay;
    const cached = await settleTransactions(tx, relay, end, this.env.config, this.logging!.resetQueries(conn));
    this.leased = undefined;
    this.endClient(end, conn);
    tx.over({ end: end.kind, startup: this.startup!, reused, backendPid: conn.pid, cached });
  }

  /** What the client is told of how its session ended; then its socket closes. */
  private endClient(end: RelayEnd, conn: ServerConnection): void {
    if (end.kind === 'backend-gone') backendLost(end, conn.address.node, this.client, this.env, this.log);
    if (end.kind === 'protocol-error' && !this.client.destroyed)
      this.client.write(errorResponse(poolerError('FRONTEND_PROTOCOL', { detail: end.message })));
    // end() unless already ended (a second end() only builds an error), then close.
    this.client.destroySoon();
    this.transition('ended');
  }

  /** After PGPOOL SET/RESET or a reload: the logger and statement and message logging follow the values in effect. */
  settingsChanged(): void {
    this.logging?.update(this.relayed, this.leased);
  }

  private refuse(e: unknown, address: BackendAddress | undefined): void {
    if (this.client.destroyed) return;
    this.client.end(refusalBytes(e, address));
    logRefusal(this.log, this.who(), e, address);
  }
}
