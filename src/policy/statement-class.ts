// What a statement is, for routing (docs/behaviour.md#statement-classes), pure: pgpool's
// send_to_where() syntactic class and is_select_query() over PostgreSQL's own parse tree
// (libpg-query's JSON form), plus what the router must still ask the catalog about (the
// relations and functions a read uses), the transaction effects that drive the writing
// flag, and the pool_backend_stats counter the statement counts in.

/** A node of libpg-query's JSON parse tree. */
export type AstNode = { readonly [key: string]: unknown };

/** primary: only the primary · both: the primary and the load-balance node · either: a read candidate. */
export type SyntacticClass = 'primary' | 'both' | 'either';

export type StatKind = 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'other';

/** Transaction control, as the writing-transaction bookkeeping needs it (docs/behaviour.md#transactions). */
export type TxControl = 'begin' | 'end' | 'rollback-to' | 'savepoint' | 'release' | 'two-phase';

export interface Relation {
  readonly schema?: string;
  readonly name: string;
}

export interface StatementClass {
  readonly where: SyntacticClass;
  /** is_select_query() on the tree; a SELECT also needs the text rule (selectTextRule). */
  readonly read: boolean;
  /** A SelectStmt (the text rule applies to it, not to SHOW, COPY or PREPARE). */
  readonly plainSelect: boolean;
  /** Relations a read uses (catalog, temp and unlogged tests) and functions it calls (volatility tests). */
  readonly relations: readonly Relation[];
  readonly functions: readonly string[];
  /** Every relation name the statement mentions, unqualified (dml_adaptive's written set). */
  readonly mentions: readonly string[];
  readonly stat: StatKind;
  readonly tx?: TxControl;
  /** SET … SERIALIZABLE, BEGIN ISOLATION LEVEL SERIALIZABLE: the transaction is serializable. */
  readonly serializable: boolean;
  /** The setting is the session's default (SET SESSION CHARACTERISTICS, SET default_transaction_isolation), not one transaction's. */
  readonly sessionWide: boolean;
  /** DISCARD ALL, DEALLOCATE ALL: every prepared statement of the session is gone. */
  readonly dropsPrepared: boolean;
  /** SET TRANSACTION READ ONLY and its kin: not a write although not a read. */
  readonly readOnlySetting: boolean;
  /** BEGIN READ WRITE / ISOLATION LEVEL SERIALIZABLE: verbatim to the primary, plain BEGIN to standbys. */
  readonly plainBeginForStandby: boolean;
  /** PREPARE name (defines), EXECUTE name / DEALLOCATE name (inherit the PREPARE's nodes). */
  readonly prepare?: { readonly name: string; readonly use: 'define' | 'execute' | 'deallocate' };
  /** check_temp_table = trace: the temporary table it creates, the tables it drops, DISCARD ALL/TEMP. */
  readonly temp?: TempTableChange;
  /** ROLLBACK / ABORT: the transaction ends without committing. */
  readonly rollback?: boolean;
}

export interface TempTableChange {
  readonly creates?: string;
  /** Unqualified or pg_temp names only: no other schema holds a temporary table. */
  readonly drops?: readonly string[];
  readonly discards?: boolean;
}

const OTHER_STATEMENTS = new Set([
  'CheckPointStmt',
  'DeallocateStmt',
  'DiscardStmt',
  'ExecuteStmt',
  'ExplainStmt',
  'ListenStmt',
  'LoadStmt',
  'LockStmt',
  'NotifyStmt',
  'PrepareStmt',
  'TransactionStmt',
  'UnlistenStmt',
  'VacuumStmt',
  'VariableSetStmt',
  'VariableShowStmt',
]);

/** LOCK modes up to ROW SHARE (1, 2) go to both nodes; ROW EXCLUSIVE (3) and above only to the primary. */
const ROW_SHARE_LOCK = 2;

const isObj = (x: unknown): x is AstNode => typeof x === 'object' && x !== null && !Array.isArray(x);
const list = (x: unknown): AstNode[] => (Array.isArray(x) ? x.filter(isObj) : []);

/** The single key of a node wrapper ({ SelectStmt: {...} }) and its body. */
function unwrap(n: unknown): [string, AstNode] | undefined {
  if (!isObj(n)) return undefined;
  const keys = Object.keys(n);
  if (keys.length !== 1 || !isObj(n[keys[0]])) return undefined;
  return [keys[0], n[keys[0]] as AstNode];
}

/** An A_Const's value as text: sval, ival (0 when absent, as libpg-query omits zero), boolval. */
function constText(n: unknown): string | undefined {
  const c = unwrap(n);
  if (!c || c[0] !== 'A_Const') return undefined;
  const b = c[1];
  if (isObj(b.sval)) return String(b.sval.sval ?? '');
  if (isObj(b.ival)) return String(b.ival.ival ?? 0);
  if (isObj(b.boolval)) return b.boolval.boolval ? 'true' : 'false';
  return undefined;
}

const FALSE_WORDS = new Set(['off', 'f', 'false', '0', 'no', 'n']);
const TRUE_WORDS = new Set(['on', 't', 'true', '1', 'yes', 'y']);

/** DefElem options of a transaction (BEGIN … / SET TRANSACTION …) by name. */
function txOptions(args: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of list(args)) {
    const d = unwrap(a);
    if (d?.[0] === 'DefElem') out.set(String(d[1].defname), (constText(d[1].arg) ?? '').toLowerCase());
  }
  return out;
}

/** Visits every object under `n` (depth first), with its wrapper key when it has one. */
function walk(n: unknown, visit: (key: string, body: AstNode) => void): void {
  if (Array.isArray(n)) {
    for (const x of n) walk(x, visit);
    return;
  }
  if (!isObj(n)) return;
  for (const [k, v] of Object.entries(n)) {
    if (isObj(v)) visit(k, v);
    walk(v, visit);
  }
}

/** SELECT … INTO or FOR UPDATE/SHARE anywhere in the tree, or a non-SELECT CTE at its top. */
function selectWrites(select: AstNode): boolean {
  if (select.intoClause !== undefined || select.lockingClause !== undefined) return true;
  let found = false;
  walk(select, (k, b) => {
    if (k === 'SelectStmt' && (b.intoClause !== undefined || b.lockingClause !== undefined)) found = true;
  });
  if (found) return true;
  const ctes = isObj(select.withClause) ? list(select.withClause.ctes) : [];
  return ctes.some((c) => {
    const cte = unwrap(c);
    const q = cte && unwrap(cte[1].ctequery);
    return q !== undefined && q[0] !== 'SelectStmt';
  });
}

function usedBy(tree: unknown): { relations: Relation[]; functions: string[] } {
  const relations: Relation[] = [];
  const functions: string[] = [];
  const rangeVar = (b: AstNode) => {
    if (typeof b.relname === 'string')
      relations.push(
        typeof b.schemaname === 'string' ? { schema: b.schemaname, name: b.relname } : { name: b.relname },
      );
  };
  if (isObj(tree) && typeof tree.relname === 'string') rangeVar(tree);
  walk(tree, (k, b) => {
    if (k === 'RangeVar' || k === 'relation') rangeVar(b);
    else if (k === 'FuncCall') {
      const name = list(b.funcname)
        .map((p) => (isObj(p.String) ? String(p.String.sval) : ''))
        .join('.');
      if (name !== '') functions.push(name);
    }
  });
  return { relations, functions };
}

function base(stat: StatKind, where: SyntacticClass): StatementClass {
  return {
    where,
    read: false,
    plainSelect: false,
    relations: [],
    functions: [],
    mentions: [],
    stat,
    serializable: false,
    sessionWide: false,
    dropsPrepared: false,
    readOnlySetting: false,
    plainBeginForStandby: false,
  };
}

function statKind(type: string): StatKind {
  if (type === 'SelectStmt') return 'select';
  if (type === 'InsertStmt') return 'insert';
  if (type === 'UpdateStmt') return 'update';
  if (type === 'DeleteStmt') return 'delete';
  return OTHER_STATEMENTS.has(type) ? 'other' : 'ddl';
}

function classifySet(b: AstNode): StatementClass {
  const other = base('other', 'both');
  const name = String(b.name ?? '').toLowerCase();
  if (b.kind === 'VAR_SET_MULTI' && (name === 'transaction' || name === 'session characteristics')) {
    const opts = txOptions(b.args);
    const sessionWide = name === 'session characteristics';
    if (opts.get('transaction_isolation') === 'serializable')
      return { ...other, where: 'primary', serializable: true, sessionWide };
    const ro = opts.get('transaction_read_only');
    if (ro !== undefined && FALSE_WORDS.has(ro)) return { ...other, where: 'primary' };
    return { ...other, readOnlySetting: ro !== undefined && TRUE_WORDS.has(ro) };
  }
  if (b.kind === 'VAR_SET_VALUE') {
    const value = (constText(list(b.args)[0]) ?? '').toLowerCase();
    if (name === 'transaction_read_only') {
      if (FALSE_WORDS.has(value)) return { ...other, where: 'primary' };
      if (TRUE_WORDS.has(value)) return { ...other, readOnlySetting: true };
    }
    if ((name === 'transaction_isolation' || name === 'default_transaction_isolation') && value === 'serializable')
      return { ...other, where: 'primary', serializable: true, sessionWide: name === 'default_transaction_isolation' };
  }
  return other;
}

function classifyTransaction(b: AstNode): StatementClass {
  const other = base('other', 'both');
  switch (b.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START': {
      const opts = txOptions(b.options);
      const ro = opts.get('transaction_read_only');
      const serializable = opts.get('transaction_isolation') === 'serializable';
      const readWrite = ro !== undefined && FALSE_WORDS.has(ro);
      return { ...other, tx: 'begin', serializable, plainBeginForStandby: serializable || readWrite };
    }
    case 'TRANS_STMT_COMMIT':
      return { ...other, tx: 'end' };
    case 'TRANS_STMT_ROLLBACK':
      return { ...other, tx: 'end', rollback: true };
    case 'TRANS_STMT_ROLLBACK_TO':
      return { ...other, tx: 'rollback-to' };
    case 'TRANS_STMT_SAVEPOINT':
      return { ...other, tx: 'savepoint' };
    case 'TRANS_STMT_RELEASE':
      return { ...other, tx: 'release' };
    default:
      // PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED.
      return { ...other, where: 'primary', tx: 'two-phase' };
  }
}

/** The class of one parsed statement (the `stmt` of a libpg-query result). */
export function classifyStatement(stmt: unknown): StatementClass {
  const c = classifyTree(stmt);
  const mentions = c.read ? c.relations.map((r) => r.name) : usedBy(unwrap(stmt)?.[1]).relations.map((r) => r.name);
  const temp = tempTableChange(stmt);
  if (mentions.length === 0 && !temp) return c;
  return { ...c, ...(mentions.length > 0 && { mentions }), ...(temp && { temp }) };
}

/** What a statement does to the session's temporary tables (check_temp_table = trace). */
function tempTableChange(stmt: unknown): TempTableChange | undefined {
  const u = unwrap(stmt);
  if (!u) return undefined;
  const [type, b] = u;
  const created = (rel: unknown) => {
    const r = rel as AstNode | undefined;
    return r?.relpersistence === 't' && typeof r.relname === 'string' ? { creates: r.relname } : undefined;
  };
  switch (type) {
    case 'CreateStmt':
      return created(b.relation);
    case 'CreateTableAsStmt':
      return created((b.into as AstNode | undefined)?.rel);
    case 'SelectStmt':
      return created((b.intoClause as AstNode | undefined)?.rel);
    case 'DropStmt': {
      if (b.removeType !== 'OBJECT_TABLE') return undefined;
      const drops: string[] = [];
      for (const o of list(b.objects)) {
        const items = list((o.List as AstNode | undefined)?.items);
        const names = items.map((n) => String((n.String as AstNode | undefined)?.sval ?? ''));
        if (names.length === 1 || (names.length === 2 && names[0] === 'pg_temp')) drops.push(names[names.length - 1]);
      }
      return drops.length > 0 ? { drops } : undefined;
    }
    case 'DiscardStmt':
      return b.target === 'DISCARD_ALL' || b.target === 'DISCARD_TEMP' ? { discards: true } : undefined;
    default:
      return undefined;
  }
}

function classifyTree(stmt: unknown): StatementClass {
  const u = unwrap(stmt);
  if (!u) return base('ddl', 'primary');
  const [type, b] = u;
  switch (type) {
    case 'SelectStmt':
      if (selectWrites(b)) return base('select', 'primary');
      return { ...base('select', 'either'), read: true, plainSelect: true, ...usedBy(b) };
    case 'CopyStmt': {
      if (b.is_from === true || typeof b.filename === 'string') return base('ddl', 'primary');
      const q = unwrap(b.query);
      if (q && (q[0] !== 'SelectStmt' || selectWrites(q[1]))) return base('ddl', 'primary');
      return { ...base('ddl', 'either'), read: true, ...usedBy(q ? q[1] : b.relation) };
    }
    case 'LockStmt':
      return base('other', Number(b.mode) <= ROW_SHARE_LOCK ? 'both' : 'primary');
    case 'TransactionStmt':
      return classifyTransaction(b);
    case 'VariableSetStmt':
      return classifySet(b);
    case 'DiscardStmt':
      return { ...base('other', 'both'), dropsPrepared: b.target === 'DISCARD_ALL' };
    case 'VariableShowStmt':
      return { ...base('other', 'either'), read: true };
    case 'PrepareStmt': {
      const inner = classifyTree(b.query);
      return {
        ...inner,
        plainSelect: false,
        stat: 'other',
        prepare: { name: String(b.name ?? ''), use: 'define' },
      };
    }
    case 'ExecuteStmt':
      return { ...base('other', 'primary'), prepare: { name: String(b.name ?? ''), use: 'execute' } };
    case 'DeallocateStmt':
      if (b.isall === true) return { ...base('other', 'both'), dropsPrepared: true };
      return { ...base('other', 'primary'), prepare: { name: String(b.name ?? ''), use: 'deallocate' } };
    default:
      // INSERT/UPDATE/DELETE/MERGE, DDL, EXPLAIN, LISTEN/NOTIFY, cursors, VACUUM, …: "all other statements".
      return base(statKind(type), 'primary');
  }
}

/** An empty query (only `;`, blanks or comments): pgpool's dummy SELECT, load-balanced. */
export const EMPTY_QUERY: StatementClass = { ...base('select', 'either'), read: true, plainSelect: true };

/** C's isspace() in the C locale, as pgpool skips leading white space: space, \t \n \v \f \r. */
const isCSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * is_select_query()'s text rule for a SELECT: with allow_sql_comments off, the text (after
 * leading white space when ignore_leading_white_space) must start with s, (, w or t
 * (either case), or be empty or `;`; with it on, any text passes.
 */
export function selectTextRule(sql: string, allowSqlComments: boolean, ignoreLeadingWhiteSpace: boolean): boolean {
  if (allowSqlComments) return true;
  let i = 0;
  if (ignoreLeadingWhiteSpace) while (i < sql.length && isCSpace(sql.charCodeAt(i))) i++;
  if (i >= sql.length) return true;
  return 'sS(wWtT;'.includes(sql[i]);
}
