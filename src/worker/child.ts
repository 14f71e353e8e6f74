// A pgpool "child" hosted in a worker: one client at a time, its own connection cache,
// its counters. Retirement decisions are pure functions of its counters and time.
import { durationMs } from '../config/accessors.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { ChildExitReason } from '../ipc/messages.js';
import { ConnectionCache } from './pooling/connection-cache.js';
import type { Session } from './session/session.js';

export class Child {
  readonly startedAt = Date.now();
  /** Sessions finished (pgpool's client_connection_count), failed ones included. */
  sessions = 0;
  session: Session | undefined;
  /** When the child last became idle (ms), for child_life_time. */
  idleSince = Date.now();
  lifeTimer: NodeJS.Timeout | undefined;
  readonly cache: ConnectionCache;

  constructor(
    readonly id: number,
    cfg: PgpoolConfig,
  ) {
    this.cache = new ConnectionCache(cfg.connection_cache ? cfg.max_pool : 0, durationMs(cfg, 'connection_life_time'));
  }

  get busy(): boolean {
    return this.session !== undefined;
  }
}

/** After a session: should the child exit (pgpool's child_max_connections)? */
export function exitAfterSession(
  sessions: number,
  cfg: Pick<PgpoolConfig, 'child_max_connections'>,
): ChildExitReason | undefined {
  return cfg.child_max_connections > 0 && sessions >= cfg.child_max_connections ? 'max_connections' : undefined;
}

/**
 * child_life_time: an idle child that has served at least one session exits after that
 * many seconds without a client (pgpool counts whole seconds of select() timeouts).
 * Returns the delay until it should exit, or undefined when it never expires.
 */
export function lifeTimeDelay(sessions: number, cfg: Pick<PgpoolConfig, 'child_life_time'>): number | undefined {
  if (cfg.child_life_time <= 0 || sessions === 0) return undefined;
  // pgpool notices one select() timeout after the limit: a second later than the value.
  return durationMs(cfg, 'child_life_time') + 1000;
}

/** Among idle children, one whose cache already holds this client's connection, else the first. */
export function pickChild(idle: readonly Child[], user: string, database: string, key: Buffer): Child | undefined {
  return idle.find((c) => c.cache.hasMatch(user, database, key)) ?? idle[0];
}
