// What the catalog says about a read (docs/behaviour.md#routing): does it use a system
// catalog, a temporary or an unlogged table, or call a volatile function — asked on the
// session's primary connection in one query per distinct statement text and database, as
// pgpool's relcache asks (one query per name). Answers are kept per worker and forgotten
// whenever a session's DDL succeeds (CREATE TEMP TABLE, CREATE FUNCTION, …), or when
// `relcache_expire` has passed since they were asked; at most `relcache_size` of them,
// the oldest dropped first (pgpool counts per name and child, pgpool-ts per text and worker).
import { durationMs } from '../../config/accessors.js';
import type { PgpoolConfig } from '../../config/schema.js';
import { NO_FACTS, type ReadFacts } from '../../policy/route-decision.js';
import type { Relation, StatementClass } from '../../policy/statement-class.js';

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

const compiled = new WeakMap<readonly string[], RegExp[]>();

/** pgpool's list patterns: case-insensitive, matched against the whole text (^…$ added unless present); compiled once per list. */
function anchored(patterns: readonly string[]): RegExp[] {
  let out = compiled.get(patterns);
  if (!out) {
    out = patterns
      .filter((p) => p !== '')
      .map((p) => new RegExp(`${p.startsWith('^') ? '' : '^'}${p}${p.endsWith('$') ? '' : '$'}`, 'i'));
    compiled.set(patterns, out);
  }
  return out;
}

/** The one catalog query for a read: system catalog, temporary, unlogged, volatile function. */
export function factsQuery(relations: readonly Relation[], volatileOf: readonly string[]): string {
  const regclasses = relations.map(
    (r) => `pg_catalog.to_regclass(${literal(r.schema ? `${ident(r.schema)}.${ident(r.name)}` : ident(r.name))})`,
  );
  const rel = (cond: string) =>
    regclasses.length === 0
      ? 'false'
      : `EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY (ARRAY[${regclasses.join(', ')}]::pg_catalog.oid[]) AND ${cond})`;
  const funcs = volatileOf.map((f) => {
    const dot = f.lastIndexOf('.');
    return dot < 0
      ? `p.proname = ${literal(f)}`
      : `(p.proname = ${literal(f.slice(dot + 1))} AND n.nspname = ${literal(f.slice(0, dot))})`;
  });
  const fn =
    funcs.length === 0
      ? 'false'
      : `EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.provolatile = 'v' AND (${funcs.join(' OR ')}))`;
  return `SELECT ${rel("n.nspname = 'pg_catalog'")}, ${rel("c.relpersistence = 't'")}, ${rel("c.relpersistence = 'u'")}, ${fn}`;
}

/** What the catalog must be asked about a read, or what is known without it. */
interface CatalogQuestion {
  readonly relations: readonly Relation[];
  readonly volatileOf: readonly string[];
}
type CatalogPlan = { readonly facts: ReadFacts } | CatalogQuestion;

/** Runs one internal query on the primary connection; its first row's columns. */
export type InternalQuery = (sql: string) => Promise<Array<string | null>>;

/** An answer from the catalog, when it was asked (performance.now()), and the class it was asked for. */
interface Answer {
  readonly facts: ReadFacts;
  readonly at: number;
  readonly cls: StatementClass;
}

export class CatalogFacts {
  private readonly cache = new Map<string, Answer>();
  hits = 0;
  queries = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * The last answer for a class (the classifier hands out one object per text), under the
   * configuration and catalog generation it was made for: the hot path is one lookup, no
   * key built, no list matched. `at`: when the catalog answered (undefined: no question).
   */
  private readonly memo = new WeakMap<
    StatementClass,
    {
      cfg: PgpoolConfig;
      generation: number;
      database: string;
      facts: ReadFacts;
      fromCatalog: boolean;
      at: number | undefined;
    }
  >();
  private generation = 0;

  /** A session's DDL succeeded: what the catalog said may no longer hold. */
  invalidate(): void {
    this.cache.clear();
    this.generation++;
  }

  /** relcache_expire: whether an answer asked at `at` is too old (never, at 0). */
  private expired(at: number | undefined, cfg: PgpoolConfig): boolean {
    return at !== undefined && cfg.relcache_expire > 0 && this.now() - at >= durationMs(cfg, 'relcache_expire');
  }

  /** What is known without asking: the facts, and whether they are the catalog's. */
  private lookup(
    cls: StatementClass,
    sql: string,
    database: string,
    cfg: PgpoolConfig,
  ): { facts: ReadFacts; fromCatalog: boolean } | { facts?: undefined; ask: CatalogQuestion } {
    const m = this.memo.get(cls);
    if (m && m.cfg === cfg && m.generation === this.generation && m.database === database && !this.expired(m.at, cfg))
      return m;
    const plan = this.plan(cls, sql, cfg);
    if ('facts' in plan) return this.remember(cls, cfg, database, plan.facts, undefined);
    const key = `${database}\0${sql}`;
    const answer = this.cache.get(key);
    if (!answer || this.expired(answer.at, cfg)) {
      if (answer) this.cache.delete(key);
      return { ask: plan };
    }
    return this.remember(cls, cfg, database, answer.facts, answer.at);
  }

  /** The class's answer for the hot path's one lookup; `at` undefined: no catalog question behind it. */
  private remember(
    cls: StatementClass,
    cfg: PgpoolConfig,
    database: string,
    facts: ReadFacts,
    at: number | undefined,
  ): { facts: ReadFacts; fromCatalog: boolean } {
    const m = { cfg, generation: this.generation, database, facts, fromCatalog: at !== undefined, at };
    this.memo.set(cls, m);
    return m;
  }

  /** The facts when they need no query or are cached; undefined when the catalog must be asked. */
  known(cls: StatementClass, sql: string, database: string, cfg: PgpoolConfig): ReadFacts | undefined {
    return this.lookup(cls, sql, database, cfg).facts;
  }

  /** What can be said without the catalog, or what to ask it. */
  private plan(cls: StatementClass, sql: string, cfg: PgpoolConfig): CatalogPlan {
    const patterns = anchored(cfg.primary_routing_query_pattern_list);
    const primaryPattern = patterns.length > 0 && patterns.some((re) => re.test(sql.replace(/"/g, '')));
    if (primaryPattern) return { facts: { ...NO_FACTS, primaryPattern } };
    if (functionsByList(cls.functions, cfg)) return { facts: { ...NO_FACTS, writingFunction: true } };
    const volatileOf = cfg.read_only_function_list.length + cfg.write_function_list.length > 0 ? [] : cls.functions;
    // trace: the session knows its temporary tables (session-router.ts), the catalog is not asked.
    const relations =
      cfg.check_temp_table !== 'catalog' && !cfg.check_unlogged_table ? systemOnly(cls.relations) : cls.relations;
    if (relations.length === 0 && volatileOf.length === 0) return { facts: NO_FACTS };
    return { relations, volatileOf };
  }

  async factsFor(
    cls: StatementClass,
    sql: string,
    database: string,
    cfg: PgpoolConfig,
    ask: InternalQuery,
  ): Promise<ReadFacts> {
    const known = this.lookup(cls, sql, database, cfg);
    if (known.facts) {
      if (known.fromCatalog) this.hits++;
      return known.facts;
    }
    const { relations, volatileOf } = known.ask;
    this.queries++;
    let facts: ReadFacts;
    try {
      const [catalog, temp, unlogged, volatile] = await ask(factsQuery(relations, volatileOf));
      facts = {
        ...NO_FACTS,
        systemCatalog: catalog === 't',
        tempTable: cfg.check_temp_table === 'catalog' && temp === 't',
        unloggedTable: cfg.check_unlogged_table && unlogged === 't',
        writingFunction: volatile === 't',
      };
    } catch {
      // No answer: the primary is always right.
      return { ...NO_FACTS, systemCatalog: true };
    }
    // relcache_size 0 keeps nothing: every such read asks.
    if (cfg.relcache_size === 0) return facts;
    for (const [key, oldest] of this.cache) {
      if (this.cache.size < cfg.relcache_size) break;
      this.cache.delete(key);
      this.memo.delete(oldest.cls);
    }
    const at = this.now();
    this.cache.set(`${database}\0${sql}`, { facts, at, cls });
    return this.remember(cls, cfg, database, facts, at).facts;
  }
}

/** With temp and unlogged checks off, only names that may be system catalogs need asking. */
function systemOnly(relations: readonly Relation[]): Relation[] {
  return relations.filter((r) => r.schema === 'pg_catalog' || (r.schema === undefined && r.name.startsWith('pg_')));
}

/** write_function_list / read_only_function_list decide without the catalog: true when a function writes. */
function functionsByList(functions: readonly string[], cfg: PgpoolConfig): boolean {
  const name = (f: string) => f.replace(/"/g, '');
  if (cfg.read_only_function_list.length > 0) {
    const ro = anchored(cfg.read_only_function_list);
    return functions.some((f) => !ro.some((re) => re.test(name(f))));
  }
  if (cfg.write_function_list.length > 0) {
    const w = anchored(cfg.write_function_list);
    return functions.some((f) => w.some((re) => re.test(name(f))));
  }
  return false;
}
