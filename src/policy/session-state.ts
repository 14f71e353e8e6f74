// Transaction pooling (docs/transaction-pooling.md), pure: what of a client's session lives
// on the backend connection, how it is read after a transaction that may have changed it
// (the probe), how another connection is brought to the same state (the restore), and
// which state cannot be carried over at all (a pin).

/** What the pooler carries from one backend connection to the next. */
export interface CarriedState {
  /** Session-level settings (pg_settings source = 'session', and the custom ones named). */
  readonly settings: ReadonlyMap<string, string>;
  /** SQL-level prepared statements: name → the PREPARE text PostgreSQL keeps. */
  readonly sqlPrepared: ReadonlyMap<string, string>;
}

export const NO_STATE: CarriedState = { settings: new Map(), sqlPrepared: new Map() };

/** State that stays on the backend and cannot be moved: the client keeps its connection. */
export type PinReason =
  | 'LISTEN'
  | 'session advisory locks'
  | 'temporary tables'
  | 'WITH HOLD cursors'
  | 'PREPARE'
  /** The probe failed: nothing is known of what the backend holds. */
  | 'state unknown'
  /** A walsender (replication=…): its slots and streams are the backend's; pinned for the whole session. */
  | 'replication connection';

export interface ProbeResult extends CarriedState {
  readonly pins: readonly PinReason[];
}

/** CommandComplete tags after which the session's state may differ (the probe runs at the transaction's end). */
const STATE_TAGS = new Set([
  'SET',
  'RESET',
  'PREPARE',
  'DEALLOCATE',
  'DEALLOCATE ALL',
  'LISTEN',
  'UNLISTEN',
  'DECLARE CURSOR',
  'CLOSE CURSOR',
  'CLOSE CURSOR ALL',
  'DISCARD ALL',
  'DISCARD TEMP',
  'DISCARD PLANS',
  'DISCARD SEQUENCES',
  'CREATE TABLE',
  'DROP TABLE',
]);

export const tagChangesSession = (tag: string): boolean => STATE_TAGS.has(tag);

/** Words of statement texts that may change session state without a telling tag (SELECT pg_advisory_lock(), set_config(), SELECT INTO TEMP, WITH HOLD). */
const STATE_WORDS = ['advisory', 'set_config', 'temp', 'hold'] as const;
const STATE_TEXT = new RegExp(STATE_WORDS.join('|'), 'i');
export const textMayChangeSession = (sql: string): boolean => STATE_TEXT.test(sql);

const WORDS = STATE_WORDS.map((w) => Buffer.from(w));
const SET_WORD = Buffer.from('set');
const DOT = 0x2e;

/** ASCII case-insensitive: does `buf[at…]` start with the lowercase `word`? */
function wordAt(buf: Buffer, at: number, word: Buffer): boolean {
  if (at + word.length > buf.length) return false;
  for (let j = 0; j < word.length; j++) {
    const b = buf[at + j];
    if ((b >= 0x41 && b <= 0x5a ? b | 0x20 : b) !== word[j]) return false;
  }
  return true;
}

/**
 * The same questions asked of the query's bytes, without decoding it (every Parse and Query
 * passes here): `state`, whether the text may change session state; `custom`, whether it
 * may name a custom parameter (a `set` and a dot), so only then is it decoded for
 * customSettingNames.
 */
export function scanSessionWords(buf: Buffer, from: number, to: number): { state: boolean; custom: boolean } {
  let state = false;
  let set = false;
  let dot = false;
  for (let i = from; i < to; i++) {
    const c = buf[i] | 0x20;
    if (c === 0x61 /* a */) state ||= wordAt(buf, i, WORDS[0]);
    else if (c === 0x73 /* s */) {
      if (wordAt(buf, i, SET_WORD)) {
        set = true;
        state ||= wordAt(buf, i, WORDS[1]);
      }
    } else if (c === 0x74 /* t */) state ||= wordAt(buf, i, WORDS[2]);
    else if (c === 0x68 /* h */) state ||= wordAt(buf, i, WORDS[3]);
    else if (buf[i] === DOT) dot = true;
  }
  return { state, custom: set && dot };
}

/**
 * Custom (dotted) parameters a statement sets: pg_settings does not list them, so the probe
 * asks for each by name. `SET [SESSION] a.b …`, `RESET a.b` and `set_config('a.b', …)`.
 */
export function customSettingNames(sql: string): string[] {
  const out: string[] = [];
  const word = String.raw`"?([A-Za-z_][\w$]*)"?\s*\.\s*"?([A-Za-z_][\w$]*)"?`;
  const set = new RegExp(String.raw`\b(?:set(?:\s+session)?|reset)\s+` + word, 'gi');
  for (const m of sql.matchAll(set)) out.push(`${m[1]}.${m[2]}`.toLowerCase());
  for (const m of sql.matchAll(/set_config\s*\(\s*'([^']+\.[^']+)'/gi)) out.push(m[1].toLowerCase());
  return out;
}

/** SQL string literal, safe whatever standard_conforming_strings is. */
export function literal(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** A quoted identifier; a dotted parameter name quotes each part. */
export const ident = (s: string): string =>
  s
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');

/**
 * One simple query returning one row: the session settings (JSON object), the custom ones
 * asked for by name (JSON object), SQL prepared statements (JSON object), and the counts
 * of what pins.
 */
export function probeQuery(customNames: Iterable<string>): string {
  const custom = [...customNames].map((n) => `${literal(n)}, current_setting(${literal(n)}, true)`);
  return [
    'SELECT',
    `(SELECT coalesce(json_object_agg(name, current_setting(name)), '{}') FROM pg_catalog.pg_settings WHERE source = 'session')::text,`,
    `${custom.length > 0 ? `json_build_object(${custom.join(', ')})` : `'{}'`}::text,`,
    `(SELECT coalesce(json_object_agg(name, statement), '{}') FROM pg_catalog.pg_prepared_statements WHERE from_sql)::text,`,
    `(SELECT count(*) FROM pg_catalog.pg_listening_channels()),`,
    `(SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()),`,
    `(SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()),`,
    `(SELECT count(*) FROM pg_catalog.pg_cursors WHERE is_holdable)`,
  ].join(' ');
}

/** The probe's row (its seven text columns) read; throws on a row of another shape. */
export function readProbe(row: readonly (string | null)[]): ProbeResult {
  if (row.length !== 7) throw new Error(`the state probe returned ${row.length} columns`);
  const obj = (s: string | null) => Object.entries(JSON.parse(s ?? '{}') as Record<string, string | null>);
  // Names lowercased: PostgreSQL's are case-insensitive, and startup settings compare with them.
  const settings = new Map<string, string>();
  for (const [k, v] of obj(row[0])) if (v !== null) settings.set(k.toLowerCase(), v);
  // A custom parameter reset (or never set) reads as '' or NULL: nothing to carry.
  for (const [k, v] of obj(row[1])) if (v !== null && v !== '') settings.set(k.toLowerCase(), v);
  const sqlPrepared = new Map<string, string>();
  const pins: PinReason[] = [];
  for (const [k, v] of obj(row[2])) {
    if (v === null) continue;
    sqlPrepared.set(k, v);
    if (!isSinglePrepare(v) && !pins.includes('PREPARE')) pins.push('PREPARE');
  }
  const count = (i: number) => Number(row[i] ?? 0);
  if (count(3) > 0) pins.push('LISTEN');
  if (count(4) > 0) pins.push('session advisory locks');
  if (count(5) > 0) pins.push('temporary tables');
  if (count(6) > 0) pins.push('WITH HOLD cursors');
  return { settings, sqlPrepared, pins };
}

/**
 * The statements that bring a connection in state `on` to state `want`; undefined when
 * they agree. Settings the client does not have are RESET (to the connection's start-up
 * value, which is the client's: connections are pooled by startup packet).
 */
export function restoreSql(on: CarriedState, want: CarriedState): string | undefined {
  const out: string[] = [];
  for (const [name] of on.settings) if (!want.settings.has(name)) out.push(`RESET ${ident(name)}`);
  const sets: string[] = [];
  for (const [name, value] of want.settings)
    if (on.settings.get(name) !== value) sets.push(`pg_catalog.set_config(${literal(name)}, ${literal(value)}, false)`);
  if (sets.length > 0) out.push(`SELECT ${sets.join(', ')}`);
  for (const [name, text] of on.sqlPrepared)
    if (want.sqlPrepared.get(name) !== text) out.push(`DEALLOCATE ${ident(name)}`);
  for (const [name, text] of want.sqlPrepared)
    if (on.sqlPrepared.get(name) !== text) out.push(text.trim().replace(/;\s*$/, ''));
  return out.length > 0 ? out.join('; ') : undefined;
}

/** pin_policy = error: what undoes every pinning state. */
export const UNDO_PINS_SQL = 'UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; CLOSE ALL';

/**
 * Whether PostgreSQL's recorded text of a prepared statement is one PREPARE and nothing
 * else (the text of a multi-statement query is the whole query: replaying it would run the
 * rest again). Top-level semicolons are found outside quotes, dollar quotes and comments.
 */
export function isSinglePrepare(text: string): boolean {
  if (!/^\s*prepare\s/i.test(text)) return false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return false;
      i = end + 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (c === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(text.slice(i));
      if (!m) i++;
      else {
        const end = text.indexOf(m[0], i + m[0].length);
        if (end < 0) return false;
        i = end + m[0].length;
      }
    } else if (c === ';') return text.slice(i + 1).trim() === '';
    else i++;
  }
  return true;
}
