// Loads pgpool.conf into a validated, frozen PgpoolConfig snapshot plus every
// diagnostic found. Pure apart from reading the files.
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './diagnostic.js';
import { readStatements, type FileReader, type Statement } from './conf-statements.js';
import { removedMessage, resolveKey } from './conf-keys.js';
import { defaultValue, parseValue, type ParsedValue } from './conf-values.js';
import { ACTS_ON, CURRENT_PARAMS, type ParamDef, type PgpoolConfig } from './schema.js';
import { crossCheck } from './conf-checks.js';

/** Where a parameter got its value; keyed by canonical key (`backend_port0`, `port`). */
export interface SettingSource {
  readonly file: string;
  readonly line: number;
}

export interface LoadedConfig {
  readonly config: PgpoolConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** Canonical key → where it was set; keys not present kept their defaults. */
  readonly sources: ReadonlyMap<string, SettingSource>;
  /** Absolute path of the main file; relative paths inside it resolve against its directory. */
  readonly file: string;
  readonly files: readonly string[];
  /** Parameters set to a non-default value that pgpool-ts accepts but does not act on yet. */
  readonly notImplemented: readonly string[];
}

interface Applied {
  def: ParamDef;
  index?: number;
  value: ParsedValue;
  source: SettingSource;
}

export function loadConfig(file: string, readFile?: FileReader): LoadedConfig {
  const abs = path.resolve(file);
  const read = readStatements(abs, readFile);
  const diagnostics: Diagnostic[] = [...read.diagnostics];
  const applied = new Map<string, Applied>();
  for (const st of read.statements) applyStatement(st, applied, diagnostics);
  applySocketDirAlias(read.statements, applied, diagnostics);
  const config = buildConfig(applied);
  const sources = new Map([...applied].map(([k, a]) => [k, a.source]));
  diagnostics.push(...crossCheck(config, sources, abs));
  const notImplemented = [
    ...new Set([...applied.values()].filter((a) => !ACTS_ON.has(a.def.name) && !isDefault(a)).map((a) => a.def.name)),
  ];
  return Object.freeze({ config, diagnostics, sources, file: abs, files: read.files, notImplemented });
}

/** An empty snapshot with every default, as if from an empty file. */
export function defaultConfig(): PgpoolConfig {
  return buildConfig(new Map());
}

function applyStatement(st: Statement, applied: Map<string, Applied>, out: Diagnostic[]): void {
  const at = { file: st.file, line: st.line };
  const r = resolveKey(st.key);
  switch (r.kind) {
    case 'unknown':
      out.push({
        ...at,
        severity: 'warning',
        param: st.key,
        message: `unrecognized configuration parameter "${st.key}"`,
        hint: r.suggestion ? `did you mean "${r.suggestion}"?` : undefined,
      });
      return;
    case 'removed':
      if (r.def.name === 'socket_dir') return; // reported by applySocketDirAlias
      out.push({ ...at, severity: 'warning', param: st.key, message: removedMessage(r.def) });
      return;
    case 'error':
      out.push({ ...at, severity: 'error', param: st.key, message: r.message, hint: r.hint });
      return;
    case 'alias':
      out.push({
        ...at,
        severity: 'warning',
        param: st.key,
        message: `parameter "${r.alias}" is a deprecated spelling of "${r.def.name}"; its value is used for "${r.def.name}"`,
      });
      break;
    case 'param':
      break;
  }
  const def = r.def;
  const index = r.kind === 'param' ? r.index : undefined;
  if (st.value === undefined) {
    out.push({
      ...at,
      severity: 'error',
      param: st.key,
      message: `missing value for parameter "${st.key}"`,
      hint: 'pgpool would read a newline character here',
    });
    return;
  }
  const v = parseValue(st.value, def, index === undefined ? def.name : st.key);
  if (!v.ok) {
    out.push({ ...at, severity: 'error', param: st.key, message: v.message, hint: v.hint });
    return;
  }
  const key = index === undefined ? def.name : `${def.name}${index}`;
  applied.delete(key); // last one wins, and keeps file order for reporting
  applied.set(key, { def, index, value: v.value, source: at });
}

/**
 * pgpool 4.4 renamed `socket_dir` to `unix_socket_directories` and since then only logs the
 * old key, so the socket silently moves to /tmp. pgpool-ts keeps a 4.3 file's socket
 * where it was: the old value is used when the new name is not set.
 */
function applySocketDirAlias(statements: readonly Statement[], applied: Map<string, Applied>, out: Diagnostic[]): void {
  const last = [...statements].reverse().find((s) => s.key === 'socket_dir' && s.value !== undefined);
  if (!last) return;
  const at = { file: last.file, line: last.line, param: 'socket_dir' };
  if (applied.has('unix_socket_directories')) {
    out.push({
      ...at,
      severity: 'warning',
      message:
        'parameter "socket_dir" was replaced by "unix_socket_directories" in pgpool-II 4.4 and is ignored because unix_socket_directories is set',
    });
    return;
  }
  const def = CURRENT_PARAMS.find((p) => p.name === 'unix_socket_directories')!;
  const v = parseValue(last.value!, def);
  if (!v.ok) return;
  applied.set('unix_socket_directories', { def, value: v.value, source: { file: last.file, line: last.line } });
  out.push({
    ...at,
    severity: 'warning',
    message: `parameter "socket_dir" was replaced by "unix_socket_directories" in pgpool-II 4.4; pgpool-ts uses its value '${last.value}' as unix_socket_directories`,
  });
}

function buildConfig(applied: ReadonlyMap<string, Applied>): PgpoolConfig {
  const cfg: Record<string, unknown> = {};
  const nodes = new Map<string, Map<number, ParsedValue>>();
  for (const def of CURRENT_PARAMS) {
    if (def.maxIndex < 0) cfg[def.name] = defaultValue(def);
    else nodes.set(def.name, new Map());
  }
  const fallbacks = new Map<string, ParsedValue>();
  for (const a of applied.values()) {
    if (a.def.maxIndex < 0) cfg[a.def.name] = a.value;
    else if (a.index === undefined) fallbacks.set(a.def.name, a.value);
    else nodes.get(a.def.name)!.set(a.index, a.value);
  }
  for (const def of CURRENT_PARAMS) {
    if (def.maxIndex < 0) continue;
    cfg[def.name] = Object.freeze({
      fallback: fallbacks.get(def.name) ?? defaultValue(def),
      nodes: nodes.get(def.name)!,
    });
  }
  return Object.freeze(cfg) as unknown as PgpoolConfig;
}

function isDefault(a: Applied): boolean {
  return JSON.stringify(a.value) === JSON.stringify(defaultValue(a.def));
}

/** Value of an indexed parameter for node `i` (bare value or default when not set per node). */
export function nodeValue<V>(p: { fallback: V; nodes: ReadonlyMap<number, V> }, i: number): V {
  return p.nodes.has(i) ? p.nodes.get(i)! : p.fallback;
}

/** Where pgpool.conf is looked for when -f is not given. */
export const DEFAULT_CONFIG_DIRS = ['/etc/pgpool-ts', '/etc/pgpool2'];

/** The first default pgpool.conf that exists, else the pgpool-ts one. */
export function defaultConfigFile(exists: (f: string) => boolean = fs.existsSync): string {
  const files = DEFAULT_CONFIG_DIRS.map((d) => path.join(d, 'pgpool.conf'));
  return files.find((f) => exists(f)) ?? files[0];
}
