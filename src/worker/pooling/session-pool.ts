// Session mode, pgpool's (docs/behaviour.md#cache): the child's own cache of up to
// max_pool connections, keyed by user, database and startup parameters. A connection is
// reset and cached only after the client's Terminate; in every other case it is closed.
import type { BackendAddress } from '../../backend/address.js';
import { isMd5Stored } from '../../auth/md5.js';
import { openServerConnection, type PasswordSource } from '../../backend/connector.js';
import { resetConnection } from '../../backend/reset.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { durationMs } from '../../config/accessors.js';
import type { PgpoolConfig } from '../../config/schema.js';
import { cacheable } from '../../policy/cache-choice.js';
import type { StreamState } from '../../protocol/stream-state.js';
import { ConnectionCache } from './connection-cache.js';
import type { Lease, LeaseRequest, Pooling, ReleaseHooks, ReleaseReason } from './lease.js';

/** How long each reply to a reset may take before the connection is given up. */
const RESET_TIMEOUT_MS = 10_000;
const NOTHING = Buffer.alloc(0);

/** Durations for the worker's histograms, in seconds. */
export interface PoolObservers {
  connected?(seconds: number): void;
  reset?(seconds: number): void;
}

export class SessionPool implements Pooling {
  readonly cache: ConnectionCache;
  constructor(
    private readonly config: () => PgpoolConfig,
    private readonly observers: PoolObservers = {},
    /** A cached connection died or expired on its own. */
    cacheShrank?: () => void,
  ) {
    const cfg = config();
    this.cache = new ConnectionCache(
      cfg.connection_cache ? cfg.max_pool : 0,
      durationMs(cfg, 'connection_life_time'),
      cacheShrank,
    );
  }

  /** Connections that must be closed when their client leaves (walsenders). */
  private readonly neverCached = new WeakSet<ServerConnection>();

  async lease(req: LeaseRequest): Promise<Lease> {
    // A walsender neither takes a cached connection nor makes room for itself: it is never kept.
    const cached = req.replication
      ? undefined
      : this.cache.take(req.user, req.database, req.cacheKey, req.address.node);
    if (cached) {
      try {
        await req.proveReuse(cached);
      } catch (e) {
        // The connection is fine; the client is not.
        cached.transition('resetting');
        this.cache.put(cached);
        throw e;
      }
      return { conn: cached, reused: true, extra: NOTHING };
    }
    if (!req.replication) this.cache.makeRoom();
    const t0 = performance.now();
    const { conn, extra } = await openServerConnection(req.address, req.cacheKey, req.user, req.database, req.password);
    this.observers.connected?.((performance.now() - t0) / 1000);
    if (req.replication) this.neverCached.add(conn);
    return { conn, reused: false, extra };
  }

  /**
   * The connection to `address`'s node for a routed session whose main connection is
   * `main`: the one cached with it when it is there, else a new one (undefined when it
   * cannot be made: the session then runs on its main connection alone).
   */
  async leaseCompanion(
    main: ServerConnection,
    req: LeaseRequest,
    address: BackendAddress,
    failed: (e: unknown) => void = () => {},
  ): Promise<Lease | undefined> {
    const cached = main.companion;
    main.companion = undefined;
    if (cached?.state === 'cached' && cached.node === address.node) {
      cached.transition('leased');
      return { conn: cached, reused: true, extra: NOTHING };
    }
    cached?.close();
    // The password the main connection logged in with (this client proved it, or typed it): asking the client again would challenge it twice.
    const password: PasswordSource = async (method) =>
      main.password !== undefined && (method === main.authMethod || !isMd5Stored(main.password))
        ? main.password
        : req.password(method);
    try {
      const { conn, extra } = await openServerConnection(address, req.cacheKey, req.user, req.database, password);
      return { conn, reused: false, extra };
    } catch (e) {
      failed(e);
      return undefined;
    }
  }

  async release(
    conn: ServerConnection,
    stream: StreamState,
    reason: ReleaseReason,
    hooks: ReleaseHooks = {},
    companion?: { readonly conn: ServerConnection; readonly stream: StreamState },
  ): Promise<boolean> {
    const cfg = this.config();
    if (reason !== 'terminate' || conn.closed || this.neverCached.has(conn) || !cacheable(conn.database, cfg)) {
      companion?.conn.close();
      conn.close();
      return false;
    }
    // reset_query_list runs on every node of the entry, as pgpool's; a companion that fails it is dropped alone.
    const keptCompanion = companion && (await this.reset(companion.conn, companion.stream, cfg, hooks));
    if (!(await this.reset(conn, stream, cfg, hooks))) {
      companion?.conn.close();
      return false;
    }
    this.cache.put(conn);
    if (companion && keptCompanion) {
      conn.companion = companion.conn;
      companion.conn.transition('cached', {
        lifeTimeMs: durationMs(cfg, 'connection_life_time'),
        onGone: () => {
          if (conn.companion === companion.conn) conn.companion = undefined;
        },
      });
    }
    return true;
  }

  /** Resets one connection; false (and closed) when it cannot be kept. */
  private async reset(
    conn: ServerConnection,
    stream: StreamState,
    cfg: PgpoolConfig,
    hooks: ReleaseHooks,
  ): Promise<boolean> {
    if (conn.closed) return false;
    conn.transition('resetting');
    const t0 = performance.now();
    const outcome = await resetConnection(conn, stream, {
      queries: cfg.reset_query_list,
      timeoutMs: RESET_TIMEOUT_MS,
      sending: hooks.sending && ((q) => hooks.sending!(q, conn)),
    });
    this.observers.reset?.((performance.now() - t0) / 1000);
    if (!outcome.clean || conn.closed) {
      hooks.failed?.(outcome.clean ? 'PostgreSQL closed the connection' : outcome.why);
      conn.close();
      return false;
    }
    return true;
  }
}
