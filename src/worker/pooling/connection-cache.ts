// One child's cache of idle backend connections (pgpool-behavior.md §5): up to max_pool
// entries keyed by user, database, protocol major and the whole sorted startup packet.
// The choices are pure functions over the entries; the class only carries them out.
import type { BackendConnection } from '../../backend/server-connection.js';

export interface CacheEntryView {
  readonly user: string;
  readonly database: string;
  readonly startupKey: Buffer;
  readonly releasedAt: number;
}

/** Databases pgpool never keeps connections to. */
export const NEVER_CACHED_DATABASES: ReadonlySet<string> = new Set([
  'template0',
  'template1',
  'postgres',
  'regression',
]);

const major = (key: Buffer) => key.readUInt16BE(4);

/**
 * pgpool's lookup: the first entry with the same user, database and protocol major.
 * 'hit' when its whole startup packet is identical, 'stale' when it differs (pgpool
 * then discards that entry), 'miss' when there is none.
 */
export function lookup(
  entries: readonly CacheEntryView[],
  user: string,
  database: string,
  key: Buffer,
): { kind: 'hit' | 'stale'; index: number } | { kind: 'miss' } {
  const index = entries.findIndex(
    (e) => e.user === user && e.database === database && major(e.startupKey) === major(key),
  );
  if (index < 0) return { kind: 'miss' };
  return { kind: entries[index].startupKey.equals(key) ? 'hit' : 'stale', index };
}

/** The entry returned to the cache longest ago (ties: the lowest index), evicted when the cache is full. */
export function victim(entries: readonly CacheEntryView[]): number {
  let best = -1;
  for (let i = 0; i < entries.length; i++) if (best < 0 || entries[i].releasedAt < entries[best].releasedAt) best = i;
  return best;
}

/** Indexes of entries whose connection_life_time (ms, 0 = off) has run out at `now`. */
export function expired(entries: readonly CacheEntryView[], now: number, lifeTimeMs: number): number[] {
  if (lifeTimeMs <= 0) return [];
  return entries.flatMap((e, i) => (now >= e.releasedAt + lifeTimeMs ? [i] : []));
}

/** When the next entry expires, or undefined. */
export function nextExpiry(entries: readonly CacheEntryView[], lifeTimeMs: number): number | undefined {
  if (lifeTimeMs <= 0 || entries.length === 0) return undefined;
  return Math.min(...entries.map((e) => e.releasedAt + lifeTimeMs));
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

export class ConnectionCache {
  readonly entries: BackendConnection[] = [];
  readonly stats: CacheStats = { hits: 0, misses: 0, evictions: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private maxPool: number,
    private lifeTimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A live cached connection for this client, removed from the cache; or undefined. */
  take(user: string, database: string, key: Buffer): BackendConnection | undefined {
    const r = lookup(this.entries, user, database, key);
    if (r.kind === 'miss') {
      this.stats.misses++;
      return undefined;
    }
    const [conn] = this.entries.splice(r.index, 1);
    conn.unwatch();
    if (r.kind === 'stale' || conn.dead) {
      conn.close();
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.arm();
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

  /** Keeps a clean idle connection; the caller has decided it is cacheable. */
  put(conn: BackendConnection): void {
    if (this.maxPool <= 0) {
      conn.close();
      return;
    }
    this.makeRoom();
    conn.releasedAt = this.now();
    this.entries.push(conn);
    conn.watch(() => this.drop(conn));
    this.arm();
  }

  private drop(conn: BackendConnection): void {
    const i = this.entries.indexOf(conn);
    if (i >= 0) this.entries.splice(i, 1);
    conn.close();
    this.arm();
  }

  /** connection_life_time is enforced by a timer, even with no traffic. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = nextExpiry(this.entries, this.lifeTimeMs);
    if (at === undefined) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - this.now()));
    this.timer.unref();
  }

  expire(): void {
    for (const i of expired(this.entries, this.now(), this.lifeTimeMs).reverse()) {
      const [conn] = this.entries.splice(i, 1);
      conn.close();
    }
    this.arm();
  }

  hasMatch(user: string, database: string, key: Buffer): boolean {
    return lookup(this.entries, user, database, key).kind === 'hit';
  }

  /** Closes every cached connection (child exit). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.entries.splice(0)) c.close();
  }
}
