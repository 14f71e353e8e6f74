// Statement classification with PostgreSQL's own parser (libpg-query, as pgpool uses a
// copy of PostgreSQL's parser), cached by statement text so that a repeated statement
// costs a Map lookup, not a parse (docs/behaviour.md#statement-classes). Loaded only when
// routing needs it: the WebAssembly module costs ~6 MB per process, and even its
// JavaScript is imported only then, so a worker without routing starts lighter.
import type { parseSync as ParseSync } from 'libpg-query';
import { classifyStatement, EMPTY_QUERY, type StatementClass } from '../../policy/statement-class.js';

export interface Classified {
  /** The first statement's class (pgpool routes and counts a multi-statement query by its first). */
  readonly cls: StatementClass;
  /** More than one statement in one Query message: the primary only. */
  readonly multi: boolean;
  /** The parser's message when it refused the text: the statement goes to the primary, which reports the error. */
  readonly parseError?: string;
}

/** A statement the parser refused: treated as a write (pgpool treats it as a DELETE). */
const UNPARSEABLE: StatementClass = { ...classifyStatement({ DeleteStmt: {} }), stat: 'ddl' };

let loading: Promise<void> | undefined;
let parseSync: typeof ParseSync = () => {
  throw new Error('the statement parser is not loaded (loadParser)');
};

/** Loads the parser once per process; classify() needs it done. */
export function loadParser(): Promise<void> {
  return (loading ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    parseSync = m.parseSync;
  }));
}

/** Texts longer than this are classified but not kept (a cache of big one-off statements would only grow). */
const MAX_CACHED_TEXT = 10_240;

export class StatementClassifier {
  private readonly cache = new Map<string, Classified>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 4096) {}

  classify(sql: string): Classified {
    const cached = this.cache.get(sql);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const result = parseAndClassify(sql);
    if (sql.length <= MAX_CACHED_TEXT) {
      // Oldest first out: Map keeps insertion order.
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(sql, result);
    }
    return result;
  }

  get size(): number {
    return this.cache.size;
  }
}

function parseAndClassify(sql: string): Classified {
  let stmts: readonly { stmt?: unknown }[];
  try {
    stmts = parseSync(sql).stmts ?? [];
  } catch (e) {
    const message = (e as Error).message;
    // libpg-query refuses an empty string outright; PostgreSQL calls it an empty query.
    if (sql.trim() === '') return { cls: EMPTY_QUERY, multi: false };
    return { cls: UNPARSEABLE, multi: false, parseError: message };
  }
  if (stmts.length === 0) return { cls: EMPTY_QUERY, multi: false };
  return { cls: classifyStatement(stmts[0].stmt), multi: stmts.length > 1 };
}
