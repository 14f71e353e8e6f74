// PGPOOL SHOW / SET / RESET (docs/behaviour.md#pgpool-commands): a client reads any parameter and
// changes the session-context ones for its own session. Parsing and answers are pure;
// the answer bytes end in ReadyForQuery 'I', as pgpool's do.
import { resolveKey } from '../config/conf-keys.js';
import { nodeValue } from '../config/conf-loader.js';
import { configNotation } from '../config/conf-values.js';
import { CURRENT_PARAMS, type ParamDef, type PgpoolConfig, type ScalarParamName } from '../config/schema.js';
import type { SessionSettings, SettingError } from '../config/session-settings.js';
import { commandComplete, errorResponse, readyForQuery, textResult } from '../protocol/backend-write.js';
import { poolerError } from '../protocol/errors.js';
import { TxStatus } from '../protocol/tx-status.js';
import { POOL_STATUS_ITEMS } from './pool-status-items.js';

export type PgpoolCommand =
  | { readonly kind: 'show'; readonly name: string }
  | { readonly kind: 'set'; readonly name: string; readonly value: string }
  | { readonly kind: 'reset'; readonly name: string }
  | { readonly kind: 'syntax'; readonly near: string };

const IDENT = String.raw`[A-Za-z_][A-Za-z0-9_]*`;
const SHOW_RE = new RegExp(String.raw`^\s*pgpool\s+show\s+(${IDENT})\s*;?\s*$`, 'i');
const RESET_RE = new RegExp(String.raw`^\s*pgpool\s+reset\s+(${IDENT})\s*;?\s*$`, 'i');
// A value: a quoted string ('' inside for a quote), or a bare word or number.
const SET_RE = new RegExp(
  String.raw`^\s*pgpool\s+set\s+(${IDENT})\s*(?:=|\s+to\s+|\s)\s*('(?:[^']|'')*'|[A-Za-z0-9_.+-]+)\s*;?\s*$`,
  'i',
);

/** The PGPOOL command in a simple query, or undefined when it is not one. */
export function parsePgpoolCommand(query: string): PgpoolCommand | undefined {
  const head = /^\s*pgpool\s+(\S+)/i.exec(query);
  if (!head) return undefined;
  let m = SHOW_RE.exec(query);
  if (m) return { kind: 'show', name: m[1].toLowerCase() };
  m = RESET_RE.exec(query);
  if (m) return { kind: 'reset', name: m[1].toLowerCase() };
  m = SET_RE.exec(query);
  if (m) {
    const raw = m[2];
    const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw;
    // SET x TO DEFAULT is RESET x, as in PostgreSQL.
    if (!raw.startsWith("'") && value.toLowerCase() === 'default') return { kind: 'reset', name: m[1].toLowerCase() };
    return { kind: 'set', name: m[1].toLowerCase(), value };
  }
  const verb = head[1].toLowerCase();
  const rest = query.slice(head.index + head[0].length).trim();
  return {
    kind: 'syntax',
    near: verb === 'show' || verb === 'set' || verb === 'reset' ? rest.split(/\s+/)[0] || verb : head[1],
  };
}

const DESCRIPTIONS: ReadonlyMap<string, string> = new Map(POOL_STATUS_ITEMS.map(([n, d]) => [n, d]));
const SECRET = /password/;

function shown(def: ParamDef, value: unknown): string {
  if (SECRET.test(def.name) && value !== '') return '*****';
  return configNotation(def, value);
}

type Indexed = { readonly fallback: unknown; readonly nodes: ReadonlyMap<number, unknown> };
const indexed = (cfg: PgpoolConfig, name: string) => (cfg as unknown as Record<string, Indexed>)[name];

/** Every parameter as PGPOOL SHOW ALL lists it: item, value, description; indexed ones per configured index. */
function allRows(cfg: PgpoolConfig, settings: SessionSettings): string[][] {
  const rows: string[][] = [];
  for (const def of CURRENT_PARAMS) {
    const description = DESCRIPTIONS.get(def.name) ?? '';
    if (def.maxIndex < 0) {
      rows.push([def.name, shown(def, settings.get(def.name as ScalarParamName)), description]);
      continue;
    }
    const { fallback, nodes } = indexed(cfg, def.name);
    if (def.bare) rows.push([def.name, shown(def, fallback), description]);
    for (const [n, v] of [...nodes].sort((x, y) => x[0] - y[0]))
      rows.push([`${def.name}${n}`, shown(def, v), description]);
  }
  return rows;
}

/** One parameter's value; `name` is resolved as pgpool.conf's keys are (backend_hostname0, aliases). */
function oneValue(name: string, cfg: PgpoolConfig, settings: SessionSettings): string | undefined {
  const r = resolveKey(name);
  if (r.kind !== 'param' && r.kind !== 'alias') return undefined;
  const def = r.def;
  if (def.maxIndex < 0) return shown(def, settings.get(def.name as ScalarParamName));
  const v = indexed(cfg, def.name);
  return shown(def, r.kind === 'param' && r.index !== undefined ? nodeValue(v, r.index) : v.fallback);
}

function refusal(e: SettingError): Buffer {
  return Buffer.concat([errorResponse(e), readyForQuery(TxStatus.Idle)]);
}

/**
 * The answer to a PGPOOL command: its result or error, then ReadyForQuery. `changed` is
 * called after a successful SET or RESET so the session applies the new values.
 */
export function answerPgpoolCommand(
  cmd: PgpoolCommand,
  cfg: PgpoolConfig,
  settings: SessionSettings,
  changed: () => void,
): Buffer {
  switch (cmd.kind) {
    case 'syntax':
      return refusal(poolerError('PGPOOL_SYNTAX', { near: cmd.near }));
    case 'show': {
      if (cmd.name === 'all')
        return Buffer.concat([
          textResult(['item', 'value', 'description'], allRows(cfg, settings)),
          readyForQuery(TxStatus.Idle),
        ]);
      const value = oneValue(cmd.name, cfg, settings);
      if (value === undefined) return refusal(poolerError('UNKNOWN_PARAMETER', { name: cmd.name }));
      return Buffer.concat([textResult([cmd.name], [[value]]), readyForQuery(TxStatus.Idle)]);
    }
    case 'set':
    case 'reset': {
      const e = cmd.kind === 'set' ? settings.set(cmd.name, cmd.value) : settings.reset(cmd.name);
      if (e) return refusal(e);
      changed();
      // pgpool answers SET, and RESET a name, through one path whose tag is SET.
      return Buffer.concat([
        commandComplete(cmd.kind === 'reset' && cmd.name === 'all' ? 'RESET' : 'SET'),
        readyForQuery(TxStatus.Idle),
      ]);
    }
  }
}
