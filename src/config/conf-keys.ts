// Resolving a key as written in pgpool.conf to a parameter: exact names, indexed
// names (`backend_hostname0`), aliases, removed names and unknown keys.
import { ALIASES, CURRENT_PARAMS, INDEXED_BY_LENGTH, PARAMS, type ParamDef } from './schema.js';

export type KeyResolution =
  | { kind: 'param'; def: ParamDef; index?: number }
  | { kind: 'alias'; alias: string; def: ParamDef }
  | { kind: 'removed'; def: ParamDef }
  | { kind: 'error'; message: string; hint?: string }
  | { kind: 'unknown'; suggestion?: string };

export function resolveKey(key: string): KeyResolution {
  const exact = PARAMS.get(key);
  if (exact && exact.removedVersion === '') {
    const target = ALIASES.get(key);
    if (target) return { kind: 'alias', alias: key, def: PARAMS.get(target)! };
    if (exact.maxIndex >= 0 && !exact.bare) {
      const hint =
        key === 'wd_port' ? 'wd_port became per-node (wd_port0 …) in pgpool-II 4.2' : `write ${key}0 for node 0`;
      return { kind: 'error', message: `parameter "${key}" expects the index value`, hint };
    }
    return { kind: 'param', def: exact };
  }
  if (exact) return { kind: 'removed', def: exact };
  const removedIndexed = PARAMS.get(key.replace(/\d+$/, ''));
  if (removedIndexed && removedIndexed.removedVersion !== '') return { kind: 'removed', def: removedIndexed };
  for (const def of INDEXED_BY_LENGTH) {
    if (!key.startsWith(def.name)) continue;
    const suffix = key.slice(def.name.length);
    if (!/^\d+$/.test(suffix)) {
      return {
        kind: 'error',
        message: `invalid index value for parameter "${key}"`,
        hint: 'index part contains the invalid non digit character',
      };
    }
    const index = parseInt(suffix, 10);
    // pgpool's own check lets index 128 (256) through and then crashes; refuse it.
    if (index > def.maxIndex) {
      return {
        kind: 'error',
        message: `${index} index outside the valid range for parameter "${key}" (0 .. ${def.maxIndex})`,
      };
    }
    return { kind: 'param', def, index };
  }
  return { kind: 'unknown', suggestion: closestName(key) };
}

export function removedMessage(def: ParamDef): string {
  const why = def.note.replace(
    /^REMOVED: not accepted by newest version \(logged as unrecognized, INFO, and ignored\);\s*/,
    '',
  );
  return `parameter "${def.name}" was removed in pgpool-II ${def.removedVersion} and is ignored: ${why}`;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

function closestName(key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const p of CURRENT_PARAMS) {
    const d = editDistance(lower, p.name);
    if (!best || d < best.d) best = { name: p.maxIndex >= 0 && !p.bare ? `${p.name}0` : p.name, d };
  }
  const limit = Math.max(2, Math.floor(key.length / 5));
  return best && best.d <= limit ? best.name : undefined;
}
