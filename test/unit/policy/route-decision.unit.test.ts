// The streaming-replication routing table (docs/behaviour.md#routing), row by row as
// pgpool 4.7 routes each statement with primary = node 0 and every session's
// load-balance node a standby: PostgreSQL's parser (libpg-query) classifies, the pure
// decision routes, and the writing-transaction flag follows each statement's success.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  NO_FACTS,
  catalogNode,
  delayedRead,
  isRead,
  routeStatement,
  writingAfter,
  type DisableLbOnWrite,
  type ReadFacts,
  type RouteSettings,
  type TxView,
} from '../../../src/policy/route-decision.js';
import { selectTextRule } from '../../../src/policy/statement-class.js';
import { DEFAULT_ROUTE_SETTINGS } from '../../helpers/route-settings.js';
import { loadParser, StatementClassifier } from '../../../src/worker/routing/classifier.js';

const classifier = new StatementClassifier();
beforeAll(loadParser);

const DEFAULTS: RouteSettings = DEFAULT_ROUTE_SETTINGS;
const IDLE: TxView = { primaryStatus: 'I', writing: false, serializable: false, startedByMultiStatement: false };
const IN_TX: TxView = { ...IDLE, primaryStatus: 'T' };

function route(
  sql: string,
  opts: { tx?: TxView; facts?: Partial<ReadFacts>; settings?: Partial<RouteSettings> } = {},
): string {
  const { cls, multi } = classifier.classify(sql);
  return routeStatement(
    cls,
    sql,
    multi,
    opts.tx ?? IDLE,
    { ...NO_FACTS, ...opts.facts },
    { ...DEFAULTS, ...opts.settings },
  );
}

/** The writing flag after `sql` succeeds with the primary in `status`, from `writing`. */
function writing(sql: string, status: 'I' | 'T' | 'E', mode: DisableLbOnWrite = 'transaction', was = false): boolean {
  const { cls } = classifier.classify(sql);
  return writingAfter(cls, isRead(cls, sql, DEFAULTS), false, status, mode, was);
}

describe('the routing table, idle session (rows 1–23)', () => {
  it.each([
    ['1', 'SELECT 1;', 'lb'],
    ['1', 'SELECT * FROM t1 LIMIT 1;', 'lb'],
    ['2', '   SELECT 11', 'lb'],
    ['3', 'TABLE t1 LIMIT 1;', 'lb'],
    ['3', '(SELECT 3);', 'lb'],
    ['3', 'WITH x AS (SELECT 1 AS a) SELECT * FROM x;', 'lb'],
    ['4', 'VALUES (1);', 'primary'],
    ['5', '/*c*/ SELECT 4;', 'primary'],
    ['6', 'SHOW work_mem;', 'lb'],
    ['7', 'EXPLAIN SELECT 1;', 'primary'],
    ['7', 'EXPLAIN ANALYZE SELECT 1;', 'primary'],
    ['8', 'SELECT now() IS NOT NULL;', 'lb'],
    ['8', 'SELECT count(*) FROM t1;', 'lb'],
    ['12', 'SELECT * FROM t1 FOR UPDATE;', 'primary'],
    ['12', 'SELECT 1 AS a INTO TEMP tx;', 'primary'],
    ['12', 'SELECT * FROM (SELECT * FROM t1 FOR SHARE) s;', 'primary'],
    ['13', 'WITH w AS (INSERT INTO t1 VALUES (1) RETURNING i) SELECT * FROM w;', 'primary'],
    ['14', 'COPY (SELECT 1) TO STDOUT;', 'lb'],
    ['14', 'COPY t1 TO STDOUT;', 'lb'],
    ['15', 'COPY t1 FROM STDIN;', 'primary'],
    ['15', "COPY t1 TO '/tmp/file';", 'primary'],
    ['15', 'COPY (INSERT INTO t1 VALUES (1) RETURNING *) TO STDOUT;', 'primary'],
    ['16', ';', 'lb'],
    ['16', '', 'lb'],
    ['17', 'INSERT INTO t1 VALUES (1);', 'primary'],
    ['17', 'VACUUM t1;', 'primary'],
    ['17', 'CREATE TEMP TABLE tt(i int);', 'primary'],
    ['17', 'MERGE INTO t1 USING t2 ON t1.i = t2.i WHEN MATCHED THEN DELETE;', 'primary'],
    ['19', "SET work_mem = '8MB';", 'both'],
    ['19', 'RESET work_mem;', 'both'],
    ['19', 'DISCARD PLANS;', 'both'],
    ['19', 'SET ROLE bob;', 'both'],
    ['20', 'LISTEN foo;', 'primary'],
    ['20', 'NOTIFY foo;', 'primary'],
    ['20', 'UNLISTEN foo;', 'primary'],
    ['21', 'SELECT 1 ; SELECT 2;', 'primary'],
    ['22', 'SELEC 1;', 'primary'],
    ['23', 'BEGIN;', 'both'],
    ['23', 'COMMIT;', 'both'],
    ['23', 'END;', 'both'],
    ['23', 'ABORT;', 'both'],
    ['28', 'LOCK TABLE t1 IN ACCESS SHARE MODE;', 'both'],
    ['28', 'LOCK TABLE t1 IN ROW SHARE MODE;', 'both'],
    ['28', 'LOCK TABLE t1 IN ROW EXCLUSIVE MODE;', 'primary'],
    ['28', 'LOCK t1;', 'primary'],
    ['31', 'BEGIN READ WRITE;', 'both'],
    ['33', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;', 'primary'],
    ['33', 'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE;', 'primary'],
    ['33', "SET default_transaction_isolation = 'serializable';", 'primary'],
    ['33', 'SET TRANSACTION READ WRITE;', 'primary'],
    ['34', 'SET TRANSACTION READ ONLY;', 'both'],
    ['35', 'SET transaction_read_only = 0;', 'primary'],
    ['35', 'SET transaction_read_only = off;', 'primary'],
    ['35', 'SET transaction_read_only = on;', 'both'],
    ['37', 'PREPARE p1 AS SELECT 1;', 'lb'],
    ['37', 'PREPARE p1 AS VALUES (1);', 'lb'],
    ['37', 'EXECUTE p1;', 'primary'],
    ['37', 'DEALLOCATE p1;', 'primary'],
    ['38', 'PREPARE p2(int) AS INSERT INTO t1 VALUES ($1);', 'primary'],
    ['39', 'DEALLOCATE ALL;', 'both'],
    ['40', 'DECLARE c CURSOR FOR SELECT 1;', 'primary'],
    ['40', 'FETCH 1 FROM c;', 'primary'],
    ['40', 'CLOSE c;', 'primary'],
    ['2pc', "PREPARE TRANSACTION 'x';", 'primary'],
    ['2pc', "COMMIT PREPARED 'x';", 'primary'],
    ['fast', 'CALL p();', 'primary'],
  ])('row %s: %s → %s', (_row, sql, want) => {
    expect(route(sql)).toBe(want);
  });
});

describe('what the catalog says keeps a read on the primary (rows 8–11, 18, 51, 53)', () => {
  it.each([
    ['9: volatile function', 'SELECT random() >= 0;', { writingFunction: true }, ['random'], []],
    ['9: nextval', "SELECT nextval('s1');", { writingFunction: true }, ['nextval'], []],
    ['10: system catalog', 'SELECT relname FROM pg_class LIMIT 1;', { systemCatalog: true }, [], ['pg_class']],
    ['11: unlogged table', 'SELECT * FROM ut;', { unloggedTable: true }, [], ['ut']],
    ['18: temporary table', 'SELECT * FROM tt;', { tempTable: true }, [], ['tt']],
    ['53: primary_routing_query_pattern_list', 'SELECT * FROM t2', { primaryPattern: true }, [], ['t2']],
    [
      '51: dml_adaptive, a relation written in this transaction',
      'SELECT count(*) FROM t1',
      { writtenInTransaction: true },
      ['count'],
      ['t1'],
    ],
  ] as const)('row %s', (_row, sql, facts, functions, relations) => {
    const { cls } = classifier.classify(sql);
    expect(cls.functions).toEqual(functions);
    expect(cls.relations.map((r) => r.name)).toEqual(relations);
    expect(route(sql)).toBe('lb');
    expect(route(sql, { facts })).toBe('primary');
  });

  it('schema-qualified names keep their schema', () => {
    const { cls } = classifier.classify('SELECT public.f(1) FROM pg_catalog.pg_class c, s.t');
    expect(cls.functions).toEqual(['public.f']);
    expect(cls.relations).toEqual([
      { schema: 'pg_catalog', name: 'pg_class' },
      { schema: 's', name: 't' },
    ]);
  });
});

describe('transactions and disable_load_balance_on_write (rows 24–34, 41–42, 48–50)', () => {
  it('24–26: a read before any write balances; a write pulls later reads to the primary; COMMIT clears', () => {
    expect(route('SELECT 1;', { tx: IN_TX })).toBe('lb');
    expect(writing('INSERT INTO t1 VALUES (1)', 'T')).toBe(true);
    expect(route('SELECT 2;', { tx: { ...IN_TX, writing: true } })).toBe('primary');
    expect(writing('COMMIT', 'T', 'transaction', true)).toBe(false);
    expect(route('SELECT 3;')).toBe('lb');
  });

  it('27–29: SET LOCAL, LOCK … ACCESS SHARE and SAVEPOINT go to both and mark the transaction writing', () => {
    for (const sql of ["SET LOCAL work_mem = '1MB'", 'LOCK TABLE t1 IN ACCESS SHARE MODE', 'SAVEPOINT a']) {
      expect(route(sql, { tx: IN_TX })).toBe('both');
      expect(writing(sql, 'T')).toBe(true);
    }
  });

  it('30: ROLLBACK TO clears the flag (pgpool’s quirk: the insert is still there)', () => {
    expect(writing('ROLLBACK TO s', 'T', 'transaction', true)).toBe(false);
  });

  it('a read outside a transaction never sets the flag; a write outside one does not either (transaction mode)', () => {
    expect(writing('SELECT 1', 'T')).toBe(false);
    expect(writing('INSERT INTO t1 VALUES (1)', 'I')).toBe(false);
    expect(writing('/*c*/ SELECT 1', 'T')).toBe(true);
  });

  it('DISCARD ALL and DEALLOCATE ALL drop every prepared statement; DISCARD PLANS does not', () => {
    expect(
      ['DISCARD ALL', 'DEALLOCATE ALL', 'DISCARD PLANS', 'DEALLOCATE p'].map(
        (q) => classifier.classify(q).cls.dropsPrepared,
      ),
    ).toEqual([true, true, false, false]);
  });

  it('session-wide serializable settings are told apart from one transaction’s', () => {
    expect(
      [
        'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE',
        "SET default_transaction_isolation = 'serializable'",
        'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
        "SET transaction_isolation = 'serializable'",
      ].map((q) => [classifier.classify(q).cls.serializable, classifier.classify(q).cls.sessionWide]),
    ).toEqual([
      [true, true],
      [true, true],
      [true, false],
      [true, false],
    ]);
  });

  it('32–34: serializable transactions read on the primary; READ ONLY is no write', () => {
    const begin = classifier.classify('BEGIN ISOLATION LEVEL SERIALIZABLE;').cls;
    expect(begin).toMatchObject({ where: 'both', tx: 'begin', serializable: true, plainBeginForStandby: true });
    expect(classifier.classify('BEGIN READ WRITE').cls.plainBeginForStandby).toBe(true);
    expect(classifier.classify('BEGIN READ ONLY').cls.plainBeginForStandby).toBe(false);
    expect(route('SELECT 2;', { tx: { ...IN_TX, serializable: true } })).toBe('primary');
    expect(writing('SET TRANSACTION READ ONLY', 'T')).toBe(false);
    expect(writing('SET transaction_read_only = on', 'T')).toBe(false);
    expect(route('SELECT 4;', { tx: IN_TX })).toBe('lb');
  });

  it('41: in a transaction a multi-statement query opened, BOTH statements stay on the primary', () => {
    const tx = { ...IN_TX, startedByMultiStatement: true };
    expect(route('SAVEPOINT x;', { tx })).toBe('primary');
    expect(route('COMMIT;', { tx })).toBe('primary');
  });

  it('42: a failed transaction reads on the primary', () => {
    expect(route('SELECT 1;', { tx: { ...IDLE, primaryStatus: 'E' } })).toBe('primary');
  });

  it('48: off never sets the flag', () => {
    expect(writing('INSERT INTO t1 VALUES (1)', 'T', 'off')).toBe(false);
  });

  it('49: trans_transaction keeps the flag past COMMIT: later transactions read on the primary, idle reads balance', () => {
    expect(writing('COMMIT', 'T', 'trans_transaction', true)).toBe(true);
    const settings = { disable_load_balance_on_write: 'trans_transaction' as const };
    expect(route('SELECT 4', { tx: { ...IN_TX, writing: true }, settings })).toBe('primary');
    expect(route('SELECT 3', { tx: { ...IDLE, writing: true }, settings })).toBe('lb');
  });

  it('50: always: after any write, every read is on the primary for the rest of the session', () => {
    expect(writing('INSERT INTO t1 VALUES (1)', 'I', 'always')).toBe(true);
    expect(writing('COMMIT', 'T', 'always', true)).toBe(true);
    const settings = { disable_load_balance_on_write: 'always' as const };
    expect(route('SELECT 3', { tx: { ...IDLE, writing: true }, settings })).toBe('primary');
    expect(route('SELECT 3', { settings })).toBe('lb');
  });

  it('dml_adaptive never sets the flag (it tracks relations instead)', () => {
    expect(writing('INSERT INTO t1 VALUES (1)', 'T', 'dml_adaptive')).toBe(false);
  });
});

describe('settings', () => {
  it('5: allow_sql_comments = on balances a commented SELECT; ignore_leading_white_space = off does not skip blanks', () => {
    expect(route('/*c*/ SELECT 4;', { settings: { allow_sql_comments: true } })).toBe('lb');
    expect(route('   SELECT 11', { settings: { ignore_leading_white_space: false } })).toBe('primary');
    expect(selectTextRule('\n\twith x as (select 1) select 1', false, true)).toBe(true);
  });

  it("ignore_leading_white_space skips what C's isspace() does, as pgpool: not a no-break space", () => {
    expect(selectTextRule('\v\f\r select 1', false, true)).toBe(true);
    expect(selectTextRule('\u00a0select 1', false, true)).toBe(false);
    expect(selectTextRule(' \t\n', false, true)).toBe(true);
  });

  it('load_balance_mode = off: everything on the primary, BOTH statements too', () => {
    for (const sql of ['SELECT 1', 'BEGIN', "SET work_mem = '8MB'", 'SHOW work_mem'])
      expect(route(sql, { settings: { load_balance_mode: false } })).toBe('primary');
  });

  it('57: a delayed load-balance node: the primary, or another standby with prefer_lower_delay_standby', () => {
    expect(delayedRead(false, false)).toBe('lb');
    expect(delayedRead(true, false)).toBe('primary');
    expect(delayedRead(true, true)).toBe('reselect');
  });

  it.each([
    ['primary', 'trace', true, 'primary'],
    ['primary', 'none', false, 'primary'],
    ['load_balance_node', 'trace', true, 'lb'],
    ['load_balance_node', 'none', true, 'lb'],
    // Temporary tables are in the catalog of the session's primary backend only.
    ['load_balance_node', 'catalog', true, 'primary'],
    // Only functions' volatility to ask: the load-balance node knows it.
    ['load_balance_node', 'catalog', false, 'lb'],
  ] as const)('relcache_query_target %s, check_temp_table %s, names tables %s: asks the %s', (t, temp, names, want) => {
    expect(catalogNode(t, temp, names)).toBe(want);
  });
});

describe('the classifier', () => {
  it('parses once per distinct text, reports parse errors, counts statements by their first', () => {
    const c = new StatementClassifier(2);
    expect(c.classify('SELEC 1').parseError).toMatch(/syntax error at or near "SELEC"/);
    c.classify('SELECT 1');
    c.classify('SELECT 1');
    expect([c.hits, c.misses]).toEqual([1, 2]);
    c.classify('SELECT 2'); // evicts the oldest (SELEC 1)
    expect(c.size).toBe(2);
    c.classify('SELEC 1');
    expect(c.misses).toBe(4);
    const multi = c.classify('INSERT INTO t VALUES (1); SELECT 1');
    expect(multi).toMatchObject({ multi: true, cls: { stat: 'insert' } });
  });

  it.each([
    ['SELECT 1', 'select'],
    ['SELECT 1 INTO TEMP x', 'select'],
    ['VALUES (1)', 'select'],
    ['INSERT INTO t VALUES (1)', 'insert'],
    ['UPDATE t SET i = 1', 'update'],
    ['DELETE FROM t', 'delete'],
    ['CREATE TABLE x (i int)', 'ddl'],
    ['COPY t TO STDOUT', 'ddl'],
    ['VACUUM t', 'other'],
    ['BEGIN', 'other'],
    ['SHOW work_mem', 'other'],
    ['PREPARE p AS SELECT 1', 'other'],
    ['EXPLAIN SELECT 1', 'other'],
    ['', 'select'],
  ])('pool_backend_stats counts %j as %s', (sql, stat) => {
    expect(classifier.classify(sql).cls.stat).toBe(stat);
  });
});
