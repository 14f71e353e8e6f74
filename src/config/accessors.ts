// Durations read from a configuration snapshot, in milliseconds, with the unit the
// schema gives each parameter (s, ms, min): call sites never multiply by 1000 themselves.
import { nodeValue } from './conf-loader.js';
import { PARAMS, type IndexedValue, type PgpoolConfig, type ScalarParamName } from './schema.js';

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1000, min: 60_000 };

/** Numeric scalar parameters (the unit check that makes one a duration is the schema's, at run time). */
export type DurationParam = {
  [K in ScalarParamName]: PgpoolConfig[K] extends number ? K : never;
}[ScalarParamName];

/** The parameter's value in milliseconds (0 stays 0: "off" for every duration parameter). */
export function durationMs<K extends DurationParam>(cfg: Pick<PgpoolConfig, K>, name: K): number {
  const factor = MS_PER_UNIT[PARAMS.get(name)?.unit ?? ''];
  if (factor === undefined) throw new Error(`${name} is not a duration parameter`);
  return (cfg[name] as number) * factor;
}

/** A per-node duration parameter (health_check_period0 …). */
export type NodeDurationParam = {
  [K in keyof PgpoolConfig]: PgpoolConfig[K] extends IndexedValue<number> ? K : never;
}[keyof PgpoolConfig];

/** Node `id`'s value of a per-node duration parameter, in milliseconds. */
export function nodeDurationMs(cfg: PgpoolConfig, name: NodeDurationParam, id: number): number {
  const factor = MS_PER_UNIT[PARAMS.get(name)?.unit ?? ''];
  if (factor === undefined) throw new Error(`${name} is not a duration parameter`);
  return nodeValue(cfg[name], id) * factor;
}

/** Whether backend_flagN of node `id` has `flag` ('|'-separated, as pgpool reads it). */
export function nodeHasFlag(cfg: Pick<PgpoolConfig, 'backend_flag'>, id: number, flag: string): boolean {
  return nodeValue(cfg.backend_flag, id)
    .split('|')
    .some((f) => f.trim() === flag);
}

/** A duration given in a parameter's own unit (a PGPOOL SET override, say), in milliseconds. */
export function unitMs(name: DurationParam, value: number): number {
  const factor = MS_PER_UNIT[PARAMS.get(name)?.unit ?? ''];
  if (factor === undefined) throw new Error(`${name} is not a duration parameter`);
  return value * factor;
}
