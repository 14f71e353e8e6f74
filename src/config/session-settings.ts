// The parameters a client may change for its own session with PGPOOL SET (pgpool's
// "session" context): its overrides on top of the running configuration, which a
// reload may change underneath. Pure; the worker applies the effective values.
import { parseValue, type ParsedValue } from './conf-values.js';
import { CURRENT_PARAMS, PARAMS, type PgpoolConfig, type ScalarParamName } from './schema.js';
import { poolerError, type PoolerError } from '../protocol/errors.js';

/** Parameters PGPOOL SET and PGPOOL RESET accept. */
export const SESSION_PARAMS: ReadonlySet<string> = new Set(
  CURRENT_PARAMS.filter((p) => p.context === 'session' && p.maxIndex < 0).map((p) => p.name),
);

/** Why a PGPOOL SET/RESET/SHOW was refused: an ERROR of the catalogue. */
export type SettingError = PoolerError;

export class SessionSettings {
  /** Made at the first PGPOOL SET: most sessions never have one. */
  private overrides: Map<string, ParsedValue> | undefined;

  /** `source.config`: the running configuration (an object, not a closure per session). */
  constructor(private readonly source: { readonly config: PgpoolConfig }) {}

  /** The value in effect for this session. */
  get<K extends ScalarParamName>(name: K): PgpoolConfig[K] {
    const o = this.overrides;
    return (o?.has(name) ? o.get(name) : this.source.config[name]) as PgpoolConfig[K];
  }

  /** PGPOOL SET name = text. */
  set(name: string, text: string): SettingError | undefined {
    const refused = this.changeable(name);
    if (refused) return refused;
    const r = parseValue(text, PARAMS.get(name)!);
    if (!r.ok) return poolerError('INVALID_VALUE', { message: r.message, hint: r.hint });
    (this.overrides ??= new Map()).set(name, r.value);
    return undefined;
  }

  /** PGPOOL RESET name | ALL: back to the configuration's value. */
  reset(name: string): SettingError | undefined {
    if (name === 'all') {
      this.overrides = undefined;
      return undefined;
    }
    const refused = this.changeable(name);
    if (refused) return refused;
    this.overrides?.delete(name);
    return undefined;
  }

  private changeable(name: string): SettingError | undefined {
    const def = PARAMS.get(name);
    if (!def || def.removedVersion !== '') return poolerError('UNKNOWN_PARAMETER', { name });
    if (!SESSION_PARAMS.has(name)) return poolerError('NOT_SESSION_PARAMETER', { name });
    return undefined;
  }
}
