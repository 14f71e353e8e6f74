// When a child exits on its own (docs/behaviour.md#lifetimes), pure: after a session
// (child_max_connections) or after being idle too long (child_life_time).
import { durationMs } from '../config/accessors.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { ChildExitReason } from '../ipc/messages.js';

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
