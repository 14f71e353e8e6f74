// A child's cache decisions (docs/behaviour.md#cache), pure: which cached connection a
// client gets, and which one makes room. Entries are keyed by user, database, protocol
// major and the whole sorted startup packet, as pgpool keys them.

export interface CacheEntryView {
  /** The node the connection is to. */
  readonly node: number;
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
  /** The node the session needs; an entry to another node is stale (the primary moved, say). */
  node?: number,
): { kind: 'hit' | 'stale'; index: number } | { kind: 'miss' } {
  const index = entries.findIndex(
    (e) => e.user === user && e.database === database && major(e.startupKey) === major(key),
  );
  if (index < 0) return { kind: 'miss' };
  const e = entries[index];
  return { kind: e.startupKey.equals(key) && (node === undefined || e.node === node) ? 'hit' : 'stale', index };
}

/** The entry returned to the cache longest ago (ties: the lowest index), evicted when the cache is full. */
export function victim(entries: readonly CacheEntryView[]): number {
  let best = -1;
  for (let i = 0; i < entries.length; i++) if (best < 0 || entries[i].releasedAt < entries[best].releasedAt) best = i;
  return best;
}

/** Whether a connection may be cached at all when its client leaves (pgpool keeps none for these). */
export function cacheable(
  database: string,
  cfg: { readonly connection_cache: boolean; readonly max_pool: number },
): boolean {
  return cfg.connection_cache && cfg.max_pool > 0 && !NEVER_CACHED_DATABASES.has(database);
}

/**
 * Whether a startup packet asks for a walsender (replication=true/on/yes/1/database, as
 * PostgreSQL reads it): such a connection is never cached, so the temporary slots and the
 * state it holds end with its client, as they do on a direct connection.
 */
export function isReplication(params: ReadonlyArray<readonly [string, string]>): boolean {
  const v = params.find(([k]) => k === 'replication')?.[1];
  return v !== undefined && !['false', 'off', 'no', '0'].includes(v.toLowerCase());
}
