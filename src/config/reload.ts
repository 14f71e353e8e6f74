// Reload: the running snapshot and a newly loaded one give the snapshot to switch to.
// Parameters whose `reload` column says restart (context "init", and the address and port
// of a backend in use) keep their running value and are reported as needing a restart.
import type { LoadedConfig } from './conf-loader.js';
import { CURRENT_PARAMS, type PgpoolConfig } from './schema.js';

export interface ReloadPlan {
  readonly config: PgpoolConfig;
  /** Parameters whose new value takes effect now. */
  readonly changed: readonly string[];
  /** Parameters whose new value needs a restart; they keep the running value. */
  readonly needRestart: readonly string[];
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) => (val instanceof Map ? [...val].sort((a, b) => a[0] - b[0]) : val));
}

export function planReload(running: PgpoolConfig, next: LoadedConfig): ReloadPlan {
  const merged: Record<string, unknown> = {};
  const changed: string[] = [];
  const needRestart: string[] = [];
  const cur = running as unknown as Record<string, unknown>;
  const nxt = next.config as unknown as Record<string, unknown>;
  for (const def of CURRENT_PARAMS) {
    const a = cur[def.name];
    const b = nxt[def.name];
    if (canonical(a) === canonical(b)) {
      merged[def.name] = a;
    } else if (def.reload === 'restart') {
      merged[def.name] = a;
      needRestart.push(def.name);
    } else {
      merged[def.name] = b;
      changed.push(def.name);
    }
  }
  return { config: Object.freeze(merged) as unknown as PgpoolConfig, changed, needRestart };
}
