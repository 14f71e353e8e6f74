// Transaction pooling (docs/transaction-pooling.md#startup-parameters), pure: which startup
// packets may share backend connections. A connection is opened with only user and
// database; a client's other startup parameters become session settings it carries like a
// SET, when each is one PostgreSQL lets a session change (this list). Any other parameter,
// or an `options` that is not only `-c name=value`, keeps the client on connections opened
// with its whole startup packet.

/** Startup parameters every client may set in a session, lowercased (PostgreSQL's names are case-insensitive). */
const SESSION_SETTABLE = new Set([
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'search_path',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'standard_conforming_strings',
  'bytea_output',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'geqo',
  'work_mem',
  'jit',
]);

const NOT_SETTINGS = new Set(['user', 'database']);

/** `options`' words as PostgreSQL splits them: on spaces, a backslash escaping the next character. */
function optionWords(options: string): string[] {
  const out: string[] = [];
  let word = '';
  let has = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i];
    if (c === '\\' && i + 1 < options.length) {
      word += options[++i];
      has = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (has) out.push(word);
      word = '';
      has = false;
    } else {
      word += c;
      has = true;
    }
  }
  if (has) out.push(word);
  return out;
}

/** `-c name=value`, `-cname=value` and `--name=value` pairs of `options`; undefined for anything else. */
export function optionSettings(options: string): Array<[string, string]> | undefined {
  const words = optionWords(options);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    let pair: string | undefined;
    const w = words[i];
    if (w === '-c') pair = words[++i];
    else if (w.startsWith('-c')) pair = w.slice(2);
    else if (w.startsWith('--')) pair = w.slice(2);
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq <= 0) return undefined;
    out.push([pair.slice(0, eq).replace(/-/g, '_'), pair.slice(eq + 1)]);
  }
  return out;
}

/**
 * The session settings a startup packet asks for (lowercased names), when connections
 * opened with user and database alone can serve it; undefined when it needs its own.
 */
export function startupSettings(params: ReadonlyArray<readonly [string, string]>): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const [name, value] of params) {
    const n = name.toLowerCase();
    if (NOT_SETTINGS.has(n)) continue;
    if (n === 'options') {
      const pairs = optionSettings(value);
      if (!pairs) return undefined;
      for (const [k, v] of pairs) {
        if (!SESSION_SETTABLE.has(k.toLowerCase()) && !k.includes('.')) return undefined;
        out.set(k.toLowerCase(), v);
      }
    } else if (SESSION_SETTABLE.has(n)) out.set(n, value);
    else return undefined;
  }
  return out;
}
