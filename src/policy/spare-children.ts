// pgpool's dynamic process management (docs/behaviour.md#process-management), as pure functions:
// how many children to start with, and on every check (about 2 s) whether to spawn or
// retire and which idle children to retire. The supervisor only carries it out.

export type Strategy = 'aggressive' | 'gentle' | 'lazy';

export interface SpareLimits {
  readonly num_init_children: number;
  readonly min_spare_children: number;
  readonly max_spare_children: number;
  readonly process_management_strategy: Strategy;
}

/** Children at start: all of them in static mode; in dynamic mode max_spare (aggressive) or min_spare. */
export function initialChildren(mode: 'static' | 'dynamic', cfg: SpareLimits): number {
  if (mode === 'static') return cfg.num_init_children;
  return cfg.process_management_strategy === 'aggressive' ? cfg.max_spare_children : cfg.min_spare_children;
}

/** (threshold, step, one-shot): retire after `threshold` over-spare checks, then every `step`-th, at most `oneShot` at once. */
export const STRATEGY_PACE: Readonly<Record<Strategy, { threshold: number; step: number; oneShot: number }>> = {
  aggressive: { threshold: 25, step: 2, oneShot: 8 },
  gentle: { threshold: 60, step: 5, oneShot: 3 },
  lazy: { threshold: 150, step: 10, oneShot: 3 },
};

export type SpareDecision = { kind: 'none' } | { kind: 'spawn'; count: number } | { kind: 'retire'; count: number };

/**
 * One check. `current` children exist, `idle` of them have no client. The counter of
 * consecutive over-spare checks is carried by the caller (pgpool's high_load_counter).
 */
export function spareCheck(
  current: number,
  idle: number,
  highLoadCounter: number,
  cfg: SpareLimits,
): { decision: SpareDecision; highLoadCounter: number } {
  if (idle > cfg.max_spare_children) {
    const counter = highLoadCounter + 1;
    const pace = STRATEGY_PACE[cfg.process_management_strategy];
    if (counter < pace.threshold || counter % pace.step !== 0)
      return { decision: { kind: 'none' }, highLoadCounter: counter };
    return {
      decision: { kind: 'retire', count: Math.min(idle - cfg.max_spare_children, pace.oneShot) },
      highLoadCounter: counter,
    };
  }
  if (idle < cfg.min_spare_children) {
    const want = cfg.min_spare_children - idle + Math.floor(cfg.max_spare_children / 4);
    const count = Math.min(want, cfg.num_init_children - current);
    return { decision: count > 0 ? { kind: 'spawn', count } : { kind: 'none' }, highLoadCounter: 0 };
  }
  return { decision: { kind: 'none' }, highLoadCounter: 0 };
}

export interface VictimCandidate {
  readonly id: number;
  /** Connections in its cache (pgpool's pooled_connections). */
  readonly pooled: number;
}

/**
 * pgpool's victim choice among idle children, in slot order: the first `count`; for
 * gentle and lazy, each later candidate replaces the first chosen one that holds
 * strictly more pooled connections, stopping early once no chosen one holds any.
 */
export function selectVictims(candidates: readonly VictimCandidate[], count: number, strategy: Strategy): number[] {
  const chosen = candidates.slice(0, count).map((c) => ({ ...c }));
  if (strategy !== 'aggressive') {
    for (const cand of candidates.slice(count)) {
      if (chosen.every((c) => c.pooled === 0)) break;
      const i = chosen.findIndex((c) => c.pooled > cand.pooled);
      if (i >= 0) chosen[i] = { ...cand };
    }
  }
  return chosen.map((c) => c.id);
}
