// Transaction pooling's backend connections (docs/transaction-pooling.md): one pool for the
// whole worker, keyed by user, database and the startup packet they were opened with (user
// and database alone for clients whose startup parameters are carried), holding at most its
// children × max_pool connections per node. Each connection carries what the
// pooler knows of its session state (settings, SQL and protocol prepared statements), so
// the next client's transaction finds it as its own.
import type { BackendAddress } from '../../backend/address.js';
import { openServerConnection, type PasswordSource } from '../../backend/connector.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { victim } from '../../policy/cache-choice.js';
import { NO_STATE, restoreSql, type CarriedState } from '../../policy/session-state.js';
import { startupSettings } from '../../policy/startup-settings.js';
import { sortedStartupPacket } from '../../protocol/frontend-read.js';
import { simpleQuery } from '../../backend/simple-query.js';
import type { Lease, LeaseRequest, Pooling, ReleaseHooks, ReleaseReason } from '../pooling/lease.js';
import type { StreamState } from '../../protocol/stream-state.js';
import type { PoolObservers } from '../pooling/session-pool.js';
import { MessageReader } from '../../protocol/message-reader.js';

const NOTHING = Buffer.alloc(0);
/** Distinct neutral keys and startup-setting sets remembered (a bound against clients that vary them without end). */
const MAX_REMEMBERED = 1000;
/** How long the login's settings may take. */
const LOGIN_QUERY_TIMEOUT_MS = 10_000;

/** What a backend connection holds of its last client's session. */
export interface ConnSession {
  /** The session state on it (changed only by TxPool.carries). */
  readonly state: CarriedState;
  /** Protocol-level statements prepared on it (server names), least recently used first. */
  readonly prepared: Map<string, true>;
  /** Its replies, framed (kept with the connection, not with each idle client). */
  readonly reader: MessageReader;
  /**
   * Who reads it now: the relay of the transaction on it, nobody (the pooler's own query
   * reads for itself), or, while idle, the pool, which drops a connection that speaks
   * unasked. One listener for the connection's life: nothing is added or removed per transaction.
   */
  sink: (chunk: Buffer) => void;
  /** Called when it closes while a relay holds it. */
  closed: () => void;
  /** The pool's own sink and close handler while it is idle (made once). */
  readonly idleSink: () => void;
  readonly idleClosed: () => void;
}

const IGNORE = (): void => {};

export interface TxPoolLimits {
  /** Connections per node: this worker's children × max_pool. */
  perNode(): number;
  /** connection_life_time in ms (0 = forever). */
  lifeTimeMs(): number;
}

export class TxPool {
  /** Idle connections, oldest released first. */
  readonly idle: ServerConnection[] = [];
  /** Live connections per node, idle or leased (the limit counts both), and those being opened. */
  private readonly live = new Map<number, Set<ServerConnection>>();
  private readonly opening = new Map<number, number>();
  private readonly sessions = new WeakMap<ServerConnection, ConnSession>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private readonly limits: TxPoolLimits,
    private readonly observers: PoolObservers = {},
  ) {}

  /** One state object per distinct set of startup settings: clients that never SET share it, so restoring between them is an identity check. */
  private readonly startupStates = new Map<string, CarriedState>();

  /** The startup packet of user and database alone, one buffer per user and database (every client of theirs holds it). */
  neutralKey(version: number, user: string, database: string): Buffer {
    const id = `${version}\0${user}\0${database}`;
    let key = this.neutralKeys.get(id);
    if (!key) {
      if (this.neutralKeys.size >= MAX_REMEMBERED) this.neutralKeys.clear();
      this.neutralKeys.set(
        id,
        (key = sortedStartupPacket(version, [
          ['user', user],
          ['database', database],
        ])),
      );
    }
    return key;
  }

  private readonly neutralKeys = new Map<string, Buffer>();

  stateFor(settings: ReadonlyMap<string, string>): CarriedState {
    if (settings.size === 0) return NO_STATE;
    const key = JSON.stringify([...settings]);
    let state = this.startupStates.get(key);
    if (!state) {
      if (this.startupStates.size >= MAX_REMEMBERED) this.startupStates.clear();
      this.startupStates.set(key, (state = { settings, sqlPrepared: new Map() }));
    }
    return state;
  }

  /** The session state a connection carries (created empty for a new one). */
  sessionOf(conn: ServerConnection): ConnSession {
    let s = this.sessions.get(conn);
    if (s) return s;
    const session: ConnSession = {
      state: NO_STATE,
      prepared: new Map(),
      reader: new MessageReader(),
      sink: IGNORE,
      closed: IGNORE,
      idleSink: () => {
        conn.close();
        this.forget(conn);
      },
      idleClosed: () => this.forget(conn),
    };
    this.sessions.set(conn, (s = session));
    conn.socket.on('data', (chunk: Buffer) => session.sink(chunk));
    conn.socket.on('close', () => session.closed());
    conn.socket.resume();
    return s;
  }

  /** The connection now holds `state` (restored, probed, or a login's start-up). */
  carries(conn: ServerConnection, state: CarriedState): void {
    (this.sessionOf(conn) as { state: CarriedState }).state = state;
  }

  /** Forgets what a connection holds: after DISCARD ALL or a reset. */
  forgetSession(conn: ServerConnection): void {
    const s = this.sessions.get(conn);
    if (!s) return;
    this.carries(conn, NO_STATE);
    s.prepared.clear();
    s.reader.rest();
  }

  count(node: number): number {
    return (this.live.get(node)?.size ?? 0) + (this.opening.get(node) ?? 0);
  }

  /** An idle connection for the key, now the caller's; undefined when none is idle (take() makes one). */
  takeIdle(user: string, database: string, key: Buffer, node: number): ServerConnection | undefined {
    this.expire();
    // The connection released last first: its statements and pages are the warmest.
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i];
      // Keys are shared buffers (neutralKey), so identity usually answers.
      if (c.node !== node || c.user !== user || c.database !== database) continue;
      if (c.startupKey !== key && !c.startupKey.equals(key)) continue;
      this.idle.splice(i, 1);
      if (c.closed) continue;
      this.stats.hits++;
      return c;
    }
    return undefined;
  }

  /** An idle connection for the key, now leased; or a new one (an idle one of another key closed when the node is at its limit). */
  async take(
    user: string,
    database: string,
    key: Buffer,
    address: BackendAddress,
    password: PasswordSource,
  ): Promise<Lease> {
    const idle = this.takeIdle(user, database, key, address.node);
    if (idle) return { conn: idle, reused: true, extra: NOTHING };
    this.stats.misses++;
    this.makeRoom(address.node);
    const t0 = performance.now();
    const node = address.node;
    this.opening.set(node, (this.opening.get(node) ?? 0) + 1);
    try {
      const { conn, extra } = await openServerConnection(address, key, user, database, password);
      this.observers.connected?.((performance.now() - t0) / 1000);
      let set = this.live.get(node);
      if (!set) this.live.set(node, (set = new Set()));
      set.add(conn);
      conn.socket.once('close', () => set.delete(conn));
      return { conn, reused: false, extra };
    } finally {
      this.opening.set(node, (this.opening.get(node) ?? 1) - 1);
    }
  }

  /**
   * Keeps a connection that is idle and clean for the next transaction. It stays leased
   * (to the pool: the session cache's cached state would watch it with listeners of its
   * own) and read: a byte PostgreSQL sends unasked, or its close, drops it.
   */
  put(conn: ServerConnection): void {
    if (conn.closed) return;
    const s = this.sessionOf(conn);
    s.sink = s.idleSink;
    s.closed = s.idleClosed;
    conn.releasedAt = Date.now();
    this.idle.push(conn);
  }

  /** connection_life_time: idle connections released longer ago than that are closed (oldest first). */
  private expire(): void {
    const ms = this.limits.lifeTimeMs();
    if (ms <= 0) return;
    const before = Date.now() - ms;
    while (this.idle.length > 0 && this.idle[0].releasedAt < before) this.idle.shift()!.close();
  }

  /** Closes every idle connection (a node's status changed). */
  clear(): void {
    for (const c of this.idle.splice(0)) c.close();
  }

  private makeRoom(node: number): void {
    const limit = Math.max(1, this.limits.perNode());
    while (this.count(node) >= limit) {
      const same = this.idle.filter((c) => c.node === node);
      if (same.length === 0) return; // every one is leased: the children bound them
      const conn = same[victim(same)];
      this.idle.splice(this.idle.indexOf(conn), 1);
      this.stats.evictions++;
      conn.close();
      this.live.get(node)?.delete(conn);
    }
  }

  private forget(conn: ServerConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

/**
 * The Pooling interface over the worker's TxPool, for a transaction-mode session's start-up
 * (docs/architecture.md#pooling-modes): the login takes a connection as the first
 * transaction does, and brings it to the client's startup settings; the session gives its
 * connection back itself between transactions.
 */
export class TxLogin implements Pooling {
  /** The key the client's connections have: user and database alone when its packet may share (else its own). */
  key: Buffer | undefined;
  /** Its startup parameters as session settings (empty when it has connections of its own). */
  settings: ReadonlyMap<string, string> = NO_STATE.settings;
  /** ParameterStatus values the settings gave the login's connection: the greeting reports them. */
  statuses: Map<string, string> | undefined;

  constructor(private readonly pool: TxPool) {}

  /** The startup packet is in (docs/transaction-pooling.md#startup-parameters). */
  place(version: number, params: ReadonlyArray<readonly [string, string]>): void {
    const shared = startupSettings(params);
    if (!shared) return;
    if (shared.size > 0) this.settings = shared;
    const user = params.find(([k]) => k === 'user')?.[1] ?? '';
    const database = params.find(([k]) => k === 'database')?.[1] ?? user;
    this.key = this.pool.neutralKey(version, user, database);
  }

  async lease(req: LeaseRequest): Promise<Lease> {
    const lease = await this.pool.take(req.user, req.database, this.key ?? req.cacheKey, req.address, req.password);
    try {
      if (lease.reused) await req.proveReuse(lease.conn);
      await this.bringToStartup(lease.conn);
    } catch (e) {
      if (lease.reused && !lease.conn.closed) this.pool.put(lease.conn);
      else lease.conn.close();
      throw e;
    }
    return lease;
  }

  /** The connection's settings made the client's startup ones (what another client left undone). */
  private async bringToStartup(conn: ServerConnection): Promise<void> {
    const session = this.pool.sessionOf(conn);
    const want = this.pool.stateFor(this.settings);
    const sql = restoreSql(session.state, want);
    session.sink = IGNORE;
    if (sql)
      await simpleQuery(conn, sql, LOGIN_QUERY_TIMEOUT_MS, (name, value) =>
        (this.statuses ??= new Map()).set(name, value),
      );
    this.pool.carries(conn, want);
  }

  /** Never asked: a transaction-mode session has no load-balance companion (Session.serve). */
  leaseCompanion(): Promise<Lease | undefined> {
    return Promise.resolve(undefined);
  }

  /** Never asked either (the session settles its own connection, tx-session.ts); closing is the safe answer. */
  release(
    conn: ServerConnection,
    _stream: StreamState,
    _reason: ReleaseReason,
    _hooks?: ReleaseHooks,
  ): Promise<boolean> {
    conn.close();
    return Promise.resolve(false);
  }
}
