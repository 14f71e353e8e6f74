// Converting one configuration value from its text to its typed form, with pgpool's
// rules (docs/behaviour.md#configuration). Pure functions; the loader adds file and line.
// Where pgpool silently turns bad input into a value (a bad boolean becomes on, a bad
// double becomes 0), these refuse instead; the README lists each such difference.
import type { ParamDef } from './schema.js';

export type ParsedValue = boolean | number | string | readonly string[];

export type ValueResult = { ok: true; value: ParsedValue } | { ok: false; message: string; hint?: string };

export const TIME_UNITS_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
export const MEMORY_UNITS_B: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};
const TIME_HINT = 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".';
const MEMORY_HINT = 'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".';
export const UNIT_NAMES: ReadonlySet<string> = new Set([...Object.keys(TIME_UNITS_MS), ...Object.keys(MEMORY_UNITS_B)]);

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** Round half to even, as C's rint() does in pgpool's conversions. */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'on' || t === '1') return true;
  if (t === 'off' || t === 'of' || t === '0') return false;
  if (t.length === 0) return undefined;
  for (const word of ['true', 'yes']) if (word.startsWith(t)) return true;
  for (const word of ['false', 'no']) if (word.startsWith(t)) return false;
  return undefined;
}

/**
 * C strtol with base 0 over a prefix of `s`: returns the number and where it stopped,
 * or undefined when no digit was read.
 */
function strtol(s: string): { value: number; end: number; overflow: boolean } | undefined {
  let i = 0;
  while (i < s.length && /\s/.test(s[i])) i++;
  let sign = 1;
  if (s[i] === '+' || s[i] === '-') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
  }
  const start = i;
  let value = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], base);
    if (Number.isNaN(d)) break;
    value = value * base + d;
  }
  if (i === start) return undefined;
  value *= sign;
  return { value, end: i, overflow: value > INT32_MAX || value < INT32_MIN };
}

/** C strtod over a prefix: the number and where it stopped. */
function strtod(s: string): { value: number; end: number } | undefined {
  const m = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(s);
  if (!m) return undefined;
  return { value: Number(m[0]), end: m[0].length };
}

function unitFamily(unit: string): 'time' | 'memory' | undefined {
  if (unit === '') return undefined;
  return unit in TIME_UNITS_MS ? 'time' : 'memory';
}

export function parseInteger(text: string, def: ParamDef): ValueResult {
  const invalid = (hint?: string): ValueResult => ({
    ok: false,
    message: `invalid value for parameter "${def.name}": "${text}"`,
    hint,
  });
  const int = strtol(text);
  let value: number;
  let rest: string;
  if (int && !int.overflow && !/^[.eE]/.test(text.slice(int.end))) {
    value = int.value;
    rest = text.slice(int.end);
  } else {
    const real = strtod(text);
    if (!real || !Number.isFinite(real.value)) return invalid();
    value = real.value;
    rest = text.slice(real.end);
  }
  const unitText = rest.trim();
  if (unitText !== '') {
    const family = unitFamily(def.unit);
    if (!family) return invalid();
    const table = family === 'time' ? TIME_UNITS_MS : MEMORY_UNITS_B;
    const factor = table[unitText];
    if (factor === undefined) return invalid(family === 'time' ? TIME_HINT : MEMORY_HINT);
    value = (value * factor) / table[def.unit];
  }
  value = rint(value);
  const limitMax = def.type === 'int64_with_unit' ? Number.MAX_SAFE_INTEGER : INT32_MAX;
  const limitMin = def.type === 'int64_with_unit' ? -Number.MAX_SAFE_INTEGER : INT32_MIN;
  if (value > limitMax || value < limitMin) return invalid('Value exceeds allowed range.');
  return rangeChecked(value, def, String(value));
}

function rangeChecked(value: number, def: ParamDef, shown: string, name = def.name): ValueResult {
  // Some defaults lie outside the range (wd_listen_port = 0 means "unset"); the samples write them out.
  if (value === Number(def.default || '0')) return { ok: true, value };
  if ((def.min !== null && value < def.min) || (def.max !== null && value > def.max)) {
    const fmt = (n: number | null) => (def.type === 'double' ? (n ?? 0).toFixed(6) : String(n));
    return {
      ok: false,
      message: `${shown} is outside the valid range for parameter "${name}" (${fmt(def.min)} .. ${fmt(def.max)})`,
    };
  }
  return { ok: true, value };
}

export function parseDouble(text: string, def: ParamDef, name: string): ValueResult {
  // pgpool uses atof: "abc" silently becomes 0 and "2.7xyz" 2.7. pgpool-ts refuses both.
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    return { ok: false, message: `invalid value for parameter "${name}": "${text}"`, hint: 'expected a number' };
  }
  const value = Number(t);
  return rangeChecked(value, def, value.toFixed(6), name);
}

/** Old values newer pgpool releases refuse, with what replaced them (for the error's hint). */
const RENAMED_ENUM_VALUES: Readonly<Record<string, string>> = {
  'relcache_query_target=master': '"master" was renamed "primary" in pgpool-II 4.2.',
  'backend_clustering_mode=slony': 'slony mode was removed in pgpool-II 4.7.',
};

const LOG_LEVEL_PARAMS = new Set(['log_min_messages', 'client_min_messages']);

export function parseEnum(text: string, def: ParamDef): ValueResult {
  let t = text.trim().toLowerCase();
  if (LOG_LEVEL_PARAMS.has(def.name) && t === 'debug') t = 'debug2';
  if (def.name === 'check_temp_table') t = t === 'on' ? 'catalog' : t === 'off' ? 'none' : t;
  const hit = def.enumValues.find((v) => v.toLowerCase() === t);
  if (hit === undefined) {
    const renamed = RENAMED_ENUM_VALUES[`${def.name}=${t}`];
    const hint = `Available values: ${def.enumValues.join(', ')}.` + (renamed ? ` ${renamed}` : '');
    return { ok: false, message: `invalid value for parameter "${def.name}": "${text}"`, hint };
  }
  return { ok: true, value: hit };
}

/** `;` for the two SQL lists, `,` for the rest; items trimmed and empty items dropped (pgpool 4.6+). */
export function listSeparator(name: string): string {
  return name === 'reset_query_list' || name === 'primary_routing_query_pattern_list' ? ';' : ',';
}

export function parseStringList(text: string, name: string): readonly string[] {
  return text
    .split(listSeparator(name))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const BACKEND_FLAGS = new Set(['ALLOW_TO_FAILOVER', 'DISALLOW_TO_FAILOVER', 'ALWAYS_PRIMARY']);

/** Checks of string parameters that pgpool parses further when set. */
function checkString(text: string, name: string, baseName: string): ValueResult {
  if (baseName === 'log_destination') {
    for (const item of text.split(',').map((s) => s.trim())) {
      if (item !== 'stderr' && item !== 'syslog') {
        return {
          ok: false,
          message: `invalid configuration for "log_destination"`,
          hint: `unknown destination :${item}`,
        };
      }
    }
  }
  if (baseName === 'backend_flag') {
    const items = text.split('|').map((s) => s.trim());
    for (const item of items) {
      if (!BACKEND_FLAGS.has(item)) {
        const hint = item === 'ALWAYS_MASTER' ? 'ALWAYS_MASTER was renamed ALWAYS_PRIMARY in pgpool-II 4.2' : undefined;
        return { ok: false, message: `invalid configuration for key "${name}": unknown backend flag: ${item}`, hint };
      }
    }
    if (items.includes('ALLOW_TO_FAILOVER') && items.includes('DISALLOW_TO_FAILOVER')) {
      return {
        ok: false,
        message: `invalid configuration for key "${name}": cannot set ALLOW_TO_FAILOVER and DISALLOW_TO_FAILOVER at the same time`,
      };
    }
  }
  return { ok: true, value: text };
}

/**
 * Converts `text` for parameter `def`; `name` is the key as written (with its index).
 * `missing` is true when the statement had no value at all (pgpool then uses "\n").
 */
export function parseValue(text: string, def: ParamDef, name: string = def.name): ValueResult {
  switch (def.type) {
    case 'bool': {
      const b = parseBool(text);
      // pgpool: any other text silently means on. pgpool-ts refuses.
      if (b === undefined) {
        return {
          ok: false,
          message: `invalid value for parameter "${name}": "${text}"`,
          hint: 'expected on, off, true, false, yes, no, 1 or 0',
        };
      }
      return { ok: true, value: b };
    }
    case 'int':
    case 'int_with_unit':
    case 'int64_with_unit': {
      const r = parseInteger(text, name === def.name ? def : { ...def, name });
      return r;
    }
    case 'double':
      return parseDouble(text, def, name);
    case 'enum':
      return parseEnum(text, def);
    case 'string_list':
      return { ok: true, value: parseStringList(text, def.name) };
    case 'string':
      return checkString(text, name, def.name);
  }
}

/** The built-in default of a parameter in its typed form. */
export function defaultValue(def: ParamDef): ParsedValue {
  switch (def.type) {
    case 'bool':
      return def.default === 'on';
    case 'int':
    case 'int_with_unit':
    case 'int64_with_unit':
    case 'double':
      return Number(def.default || '0');
    case 'string_list':
      return parseStringList(def.default, def.name);
    case 'enum':
    case 'string':
      return def.default;
  }
}

/**
 * A typed value in configuration notation, as PGPOOL SHOW prints it: on/off, integers
 * with the largest unit that divides them exactly (PostgreSQL's way: 1440 min is "1d"),
 * lists joined by commas.
 */
export function configNotation(def: ParamDef, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number' && def.unit !== '' && value !== 0 && Number.isInteger(value)) {
    const table: Readonly<Record<string, number>> = def.unit in TIME_UNITS_MS ? TIME_UNITS_MS : MEMORY_UNITS_B;
    const base = table[def.unit] * value;
    const units = Object.entries(table)
      .filter(([, f]) => f >= table[def.unit])
      .sort((a, b) => b[1] - a[1]);
    for (const [unit, factor] of units) if (base % factor === 0) return `${base / factor}${unit}`;
  }
  return String(value);
}
