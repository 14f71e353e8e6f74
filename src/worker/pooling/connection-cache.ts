// One child's cache of idle backend connections (docs/behaviour.md#cache): up to max_pool
// entries, chosen and evicted by policy/cache-choice.ts. A cached connection watches
// itself and expires by its own connection_life_time timer (backend/server-connection.ts);
// the cache only forgets it then.
import type { ServerConnection } from '../../backend/server-connection.js';
import { lookup, victim } from '../../policy/cache-choice.js';

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

export class ConnectionCache {
  readonly entries: ServerConnection[] = [];
  readonly stats: CacheStats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private readonly maxPool: number,
    /** connection_life_time in ms (0 = forever). */
    private readonly lifeTimeMs: number,
    /** A cached connection died or expired on its own. */
    private readonly shrank: () => void = () => {},
  ) {}

  /** A live cached connection for this client, now leased to it; or undefined. */
  take(user: string, database: string, key: Buffer, node?: number): ServerConnection | undefined {
    const r = lookup(this.entries, user, database, key, node);
    if (r.kind === 'miss') {
      this.stats.misses++;
      return undefined;
    }
    const [conn] = this.entries.splice(r.index, 1);
    if (r.kind === 'stale' || conn.closed) {
      conn.close();
      this.stats.misses++;
      return undefined;
    }
    conn.transition('leased');
    this.stats.hits++;
    return conn;
  }

  /** Makes room for one more connection, evicting as pgpool does when the cache is full. */
  makeRoom(): void {
    while (this.entries.length > 0 && this.entries.length >= this.maxPool) {
      const [conn] = this.entries.splice(victim(this.entries), 1);
      this.stats.evictions++;
      conn.close();
    }
  }

  /** Keeps a clean idle connection (state resetting); the caller has decided it is cacheable. */
  put(conn: ServerConnection): void {
    if (this.maxPool <= 0) {
      conn.close();
      return;
    }
    this.makeRoom();
    this.entries.push(conn);
    conn.transition('cached', { lifeTimeMs: this.lifeTimeMs, onGone: () => this.forget(conn) });
  }

  private forget(conn: ServerConnection): void {
    const i = this.entries.indexOf(conn);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.shrank();
  }

  hasMatch(user: string, database: string, key: Buffer): boolean {
    return lookup(this.entries, user, database, key).kind === 'hit';
  }

  /** Closes every cached connection (child exit). */
  clear(): void {
    for (const c of this.entries.splice(0)) c.close();
  }
}
