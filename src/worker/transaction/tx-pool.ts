// Transaction pooling's backend connections (docs/transaction-pooling.md): one pool for the
// whole worker, keyed as the session cache is (user, database, startup packet), holding at
// most its children × max_pool connections per node. Each connection carries what the
// pooler knows of its session state (settings, SQL and protocol prepared statements), so
// the next client's transaction finds it as its own.
import type { BackendAddress } from '../../backend/address.js';
import { openServerConnection, type PasswordSource } from '../../backend/connector.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { victim } from '../../policy/cache-choice.js';
import { NO_STATE, type CarriedState } from '../../policy/session-state.js';
import type { Lease, LeaseRequest, Pooling, ReleaseHooks, ReleaseReason } from '../pooling/lease.js';
import type { StreamState } from '../../protocol/stream-state.js';
import type { PoolObservers } from '../pooling/session-pool.js';
import { MessageReader } from '../../protocol/message-reader.js';

const NOTHING = Buffer.alloc(0);

/** What a backend connection holds of its last client's session. */
export interface ConnSession {
  state: CarriedState;
  /** Protocol-level statements prepared on it (server names), least recently used first. */
  readonly prepared: Map<string, true>;
  /** Its replies, framed (kept with the connection, not with each idle client). */
  readonly reader: MessageReader;
}

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

  /** The session state a connection carries (created empty for a new one). */
  sessionOf(conn: ServerConnection): ConnSession {
    let s = this.sessions.get(conn);
    if (!s) this.sessions.set(conn, (s = { state: NO_STATE, prepared: new Map(), reader: new MessageReader() }));
    return s;
  }

  /** Forgets what a connection holds: after DISCARD ALL or a reset. */
  forgetSession(conn: ServerConnection): void {
    this.sessions.delete(conn);
  }

  count(node: number): number {
    return (this.live.get(node)?.size ?? 0) + (this.opening.get(node) ?? 0);
  }

  /** An idle connection for the key, now leased; or a new one (an idle one of another key closed when the node is at its limit). */
  async take(
    user: string,
    database: string,
    key: Buffer,
    address: BackendAddress,
    password: PasswordSource,
  ): Promise<Lease> {
    // The connection released last first: its statements and pages are the warmest.
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i];
      if (c.node !== address.node || c.user !== user || c.database !== database || !c.startupKey.equals(key)) continue;
      this.idle.splice(i, 1);
      if (c.closed) continue;
      c.transition('leased');
      this.stats.hits++;
      return { conn: c, reused: true, extra: NOTHING };
    }
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

  /** Keeps a leased connection that is idle and clean for the next transaction. */
  put(conn: ServerConnection): void {
    if (conn.closed) return;
    if (conn.state === 'leased') conn.transition('resetting');
    this.idle.push(conn);
    conn.transition('cached', { lifeTimeMs: this.limits.lifeTimeMs(), onGone: () => this.forget(conn) });
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
 * transaction does; the session gives its connection back itself between transactions.
 */
export class TxLogin implements Pooling {
  constructor(private readonly pool: TxPool) {}

  async lease(req: LeaseRequest): Promise<Lease> {
    const lease = await this.pool.take(req.user, req.database, req.cacheKey, req.address, req.password);
    if (lease.reused) {
      try {
        await req.proveReuse(lease.conn);
      } catch (e) {
        this.pool.put(lease.conn);
        throw e;
      }
    }
    return lease;
  }

  leaseCompanion(): Promise<Lease | undefined> {
    return Promise.resolve(undefined);
  }

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
