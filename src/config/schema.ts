// The one typed schema of every pgpool.conf parameter. The table itself is generated
// (params-table.ts); this file derives the snapshot's TypeScript type from it and says
// which parameters pgpool-ts acts on. The rest of the code reads configuration only
// through a PgpoolConfig snapshot.
import { PARAM_ROWS } from './params-table.js';

export type ParamRow = (typeof PARAM_ROWS)[number];
export type ParamType = ParamRow['type'];
export type ParamContext = 'init' | 'reload' | 'session';

type CurrentRow = Extract<ParamRow, { removedVersion: '' }>;
type ScalarRow = Extract<CurrentRow, { maxIndex: -1 }>;
type IndexedRow = Exclude<CurrentRow, { maxIndex: -1 }>;

type ValueOf<R extends ParamRow> = R['type'] extends 'bool'
  ? boolean
  : R['type'] extends 'int' | 'int_with_unit' | 'int64_with_unit' | 'double'
    ? number
    : R['type'] extends 'string_list'
      ? readonly string[]
      : R['type'] extends 'enum'
        ? R['enumValues'][number]
        : string;

/** Per-node values of an indexed parameter (`backend_hostname0` …). */
export interface IndexedValue<V> {
  /** The bare (unindexed) value where the parameter allows one, else the built-in default. */
  readonly fallback: V;
  readonly nodes: ReadonlyMap<number, V>;
}

export type PgpoolConfig = {
  readonly [R in ScalarRow as R['name']]: ValueOf<R>;
} & {
  readonly [R in IndexedRow as R['name']]: IndexedValue<ValueOf<R>>;
};

export type ParamName = CurrentRow['name'];
export type ScalarParamName = ScalarRow['name'];

export interface ParamDef {
  readonly name: string;
  readonly type: ParamType;
  readonly default: string;
  readonly min: number | null;
  readonly max: number | null;
  readonly unit: string;
  readonly enumValues: readonly string[];
  readonly context: ParamContext;
  /** -1 when not indexed, else the highest valid index (127 or 255). */
  readonly maxIndex: number;
  /** Indexed parameter that also accepts its bare name as the all-nodes default. */
  readonly bare: boolean;
  readonly category: string;
  readonly removedVersion: string;
  readonly note: string;
  /** pgpool-ts acts on it (else: accepted, reported as not implemented). */
  readonly acts: boolean;
  /** What a reload does with a new value: take it, or keep the running one until a restart. */
  readonly reload: 'apply' | 'restart';
}

export const PARAMS: ReadonlyMap<string, ParamDef> = new Map(
  (PARAM_ROWS as readonly ParamDef[]).map((r) => [r.name, r]),
);

/** Current (not removed) parameters, indexed ones first by descending name length for prefix matching. */
export const CURRENT_PARAMS: readonly ParamDef[] = [...PARAMS.values()].filter((p) => p.removedVersion === '');
export const INDEXED_BY_LENGTH: readonly ParamDef[] = CURRENT_PARAMS.filter((p) => p.maxIndex >= 0).sort(
  (a, b) => b.name.length - a.name.length,
);

/**
 * Parameters pgpool-ts acts on today (the `acts` column of tools/gen-params/params.tsv).
 * Everything else is accepted, validated, and reported once at start-up as not
 * implemented when the file sets it to a non-default value. The README's parameter table
 * is checked against this set.
 */
export const ACTS_ON: ReadonlySet<string> = new Set(CURRENT_PARAMS.filter((p) => p.acts).map((p) => p.name));

/** Aliases pgpool accepts for renamed parameters (TSV notes "ALIAS of x"). */
export const ALIASES: ReadonlyMap<string, string> = new Map(
  CURRENT_PARAMS.flatMap((p) => {
    const m = /^ALIAS of (\w+)/.exec(p.note);
    return m ? [[p.name, m[1]] as const] : [];
  }),
);
