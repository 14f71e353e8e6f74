// Where one statement goes in streaming/logical replication (docs/behaviour.md#routing),
// pure: pgpool 4.7's where_to_send_main_replica() over a statement's class, the session's
// transaction view and what the catalog said about the relations and functions it uses;
// and the writing-transaction flag after a statement succeeds (pool_at_command_success).
import { selectTextRule, type StatementClass } from './statement-class.js';

export type DisableLbOnWrite = 'off' | 'transaction' | 'trans_transaction' | 'always' | 'dml_adaptive';

export interface RouteSettings {
  readonly load_balance_mode: boolean;
  readonly disable_load_balance_on_write: DisableLbOnWrite;
  readonly allow_sql_comments: boolean;
  readonly ignore_leading_white_space: boolean;
}

/** The session's transaction as routing sees it (docs/behaviour.md#transactions). */
export interface TxView {
  /** The primary connection's last ReadyForQuery status. */
  readonly primaryStatus: 'I' | 'T' | 'E';
  readonly writing: boolean;
  readonly serializable: boolean;
  readonly startedByMultiStatement: boolean;
}

/** What the catalog and the lists said about a read (each false when its check is off). */
export interface ReadFacts {
  readonly systemCatalog: boolean;
  readonly tempTable: boolean;
  readonly unloggedTable: boolean;
  /** primary_routing_query_pattern_list matched the text. */
  readonly primaryPattern: boolean;
  /** A function that writes: volatile, or by write_function_list / read_only_function_list. */
  readonly writingFunction: boolean;
  /** dml_adaptive: the read uses a relation written earlier in this transaction. */
  readonly writtenInTransaction: boolean;
}

export const NO_FACTS: ReadFacts = {
  systemCatalog: false,
  tempTable: false,
  unloggedTable: false,
  primaryPattern: false,
  writingFunction: false,
  writtenInTransaction: false,
};

/** primary · both (the primary and the load-balance node, main node's reply) · lb: the load-balance node, if not delayed. */
export type Destination = 'primary' | 'both' | 'lb';

/** is_select_query(): the tree says read, and a SELECT's text passes the first-character rule. */
export function isRead(c: StatementClass, sql: string, s: RouteSettings): boolean {
  return c.read && (!c.plainSelect || selectTextRule(sql, s.allow_sql_comments, s.ignore_leading_white_space));
}

/** Whether a read candidate's facts keep it on the primary. */
function needsPrimary(f: ReadFacts): boolean {
  return (
    f.systemCatalog || f.tempTable || f.unloggedTable || f.primaryPattern || f.writingFunction || f.writtenInTransaction
  );
}

export function routeStatement(
  c: StatementClass,
  sql: string,
  multiStatement: boolean,
  tx: TxView,
  facts: ReadFacts,
  s: RouteSettings,
): Destination {
  if (multiStatement) return 'primary';
  if (c.where === 'primary') return 'primary';
  if (c.where === 'both') return tx.startedByMultiStatement || !s.load_balance_mode ? 'primary' : 'both';
  if (tx.writing && s.disable_load_balance_on_write === 'always') return 'primary';
  if (!s.load_balance_mode || !isRead(c, sql, s)) return 'primary';
  const inCleanTransaction = !tx.writing && tx.primaryStatus !== 'E' && !tx.serializable;
  if (tx.primaryStatus !== 'I' && !inCleanTransaction) return 'primary';
  return needsPrimary(facts) ? 'primary' : 'lb';
}

/**
 * Where the catalog is asked about a read (relcache_query_target): the primary, or the
 * session's load-balance node. A temporary table is in the catalog of the session's own
 * primary backend only, so while the catalog is asked about them (check_temp_table =
 * catalog) a read that names tables asks the primary (pgpool would ask the standby and
 * miss them; with check_temp_table = trace the session knows its temporary tables itself).
 */
export function catalogNode(
  target: 'primary' | 'load_balance_node',
  checkTempTable: 'catalog' | 'trace' | 'none' | 'on' | 'off',
  namesTables: boolean,
): 'primary' | 'lb' {
  if (target === 'primary') return 'primary';
  // 'on' and 'off' are read as 'catalog' and 'none' (config/conf-values.ts).
  return namesTables && checkTempTable === 'catalog' ? 'primary' : 'lb';
}

/** A read for the load-balance node: there unless it is over its delay threshold (then a less-delayed standby or the primary). */
export function delayedRead(lbDelayed: boolean, preferLowerDelay: boolean): 'lb' | 'reselect' | 'primary' {
  if (!lbDelayed) return 'lb';
  return preferLowerDelay ? 'reselect' : 'primary';
}

/**
 * The writing-transaction flag after a statement succeeded: BEGIN, COMMIT/ROLLBACK and
 * ROLLBACK TO clear it (not in trans_transaction or always mode); anything that is not a
 * read, or a read calling a writing function, sets it inside a transaction (anywhere in
 * always mode), except SET … SERIALIZABLE and read-only settings; off and dml_adaptive
 * never set it.
 */
export function writingAfter(
  c: StatementClass,
  read: boolean,
  writingFunction: boolean,
  primaryStatus: 'I' | 'T' | 'E',
  mode: DisableLbOnWrite,
  writing: boolean,
): boolean {
  if (c.tx === 'begin' || c.tx === 'end' || c.tx === 'rollback-to')
    return mode === 'trans_transaction' || mode === 'always' ? writing : false;
  if (mode === 'off' || mode === 'dml_adaptive') return writing;
  if (c.tx === 'two-phase' || c.serializable || c.readOnlySetting) return writing;
  if (read && !writingFunction) return writing;
  return primaryStatus === 'T' || mode === 'always' ? true : writing;
}
