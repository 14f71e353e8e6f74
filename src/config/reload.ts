// Reload: the running snapshot and a newly loaded one give the snapshot to switch to.
// Parameters whose `reload` column says restart (context "init") keep their running value
// and are reported as needing a restart; so do the address and port of a backend in use,
// while a reload may add a node in a slot not used yet (docs/behaviour.md#clustering-mode).
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

/** Indexed parameters a reload may set only for a slot not in use yet: adding a node (pgpool's BackendPortAssignFunc). */
const NODE_SLOT_PARAMS: ReadonlySet<string> = new Set(['backend_hostname', 'backend_port']);

interface IndexedValue {
  readonly fallback: unknown;
  readonly nodes: ReadonlyMap<number, unknown>;
}

/** A slot's address: the running value while the slot is in use, the new one for a slot being added. */
function mergeSlots(
  running: PgpoolConfig,
  a: IndexedValue,
  b: IndexedValue,
): { value: IndexedValue; added: boolean; refused: boolean } {
  const inUse = (i: number) => (running.backend_port.nodes.get(i) ?? 0) > 0;
  const nodes = new Map<number, unknown>();
  let added = false;
  let refused = false;
  for (const i of new Set([...a.nodes.keys(), ...b.nodes.keys()])) {
    if (inUse(i)) {
      if (a.nodes.has(i)) nodes.set(i, a.nodes.get(i));
      if (canonical(a.nodes.get(i)) !== canonical(b.nodes.get(i))) refused = true;
    } else {
      if (b.nodes.has(i)) nodes.set(i, b.nodes.get(i));
      if (canonical(a.nodes.get(i)) !== canonical(b.nodes.get(i))) added = true;
    }
  }
  return { value: { fallback: a.fallback, nodes }, added, refused };
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
    } else if (NODE_SLOT_PARAMS.has(def.name)) {
      const m = mergeSlots(running, a as IndexedValue, b as IndexedValue);
      merged[def.name] = m.value;
      if (m.added) changed.push(def.name);
      if (m.refused) needRestart.push(def.name);
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
