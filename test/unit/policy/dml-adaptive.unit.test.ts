// dml_adaptive's bookkeeping (docs/behaviour.md#dml-adaptive) over PostgreSQL's parser:
// what a statement adds to the transaction's written set, with the relationship list,
// and which later reads then go to the primary.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  parseRelationshipList,
  readsWritten,
  writtenAfter,
  type RelationshipEntry,
} from '../../../src/policy/dml-adaptive.js';
import { isRead, type RouteSettings } from '../../../src/policy/route-decision.js';
import { DEFAULT_ROUTE_SETTINGS } from '../../helpers/route-settings.js';
import { loadParser, StatementClassifier } from '../../../src/worker/routing/classifier.js';

const classifier = new StatementClassifier();
beforeAll(loadParser);

const SETTINGS: RouteSettings = { ...DEFAULT_ROUTE_SETTINGS, disable_load_balance_on_write: 'dml_adaptive' };

/** The written set after running `statements` in a transaction, in order. */
function written(statements: string[], list: RelationshipEntry[] = []): string[] {
  let set: ReadonlySet<string> = new Set();
  for (const sql of statements) {
    const { cls } = classifier.classify(sql);
    const read = isRead(cls, sql, SETTINGS);
    set = writtenAfter(set, { read, relations: cls.mentions, functions: read ? cls.functions : [] }, list);
  }
  return [...set].sort();
}

/** Whether `read` goes to the primary after `writes` in the same transaction. */
function toPrimary(writes: string[], read: string, list = ''): boolean {
  const { cls } = classifier.classify(read);
  return readsWritten(new Set(written(writes, parseRelationshipList(list))), cls.mentions);
}

describe('the written set', () => {
  it.each<[string[], string[]]>([
    [['INSERT INTO t1 VALUES (1)'], ['t1']],
    [['UPDATE public.T2 SET a = 1 FROM t3 WHERE t3.id = t2.id'], ['t2', 't3']],
    [['DELETE FROM t4 WHERE id IN (SELECT id FROM t5)'], ['t4', 't5']],
    [['INSERT INTO t1 SELECT * FROM t6'], ['t1', 't6']],
    [['TRUNCATE t7'], ['t7']],
    [['CREATE TABLE t8 (i int)'], ['t8']],
    [['SELECT * FROM t1'], []],
    // A SELECT failing the text rule is no read: pgpool records its relations.
    [['/* tag */ SELECT * FROM t9'], ['t9']],
    [['SELECT * FROM t10 FOR UPDATE'], ['t10']],
    [
      ['INSERT INTO t1 VALUES (1)', 'UPDATE t1 SET a = 2', 'INSERT INTO "Mixed" VALUES (1)'],
      ['mixed', 't1'],
    ],
    [['BEGIN', 'SET work_mem = 1'], []],
  ])('%j → %j', (statements, expected) => {
    expect(written(statements)).toEqual(expected);
  });

  it('adds the dependents of written relations and of functions a read calls', () => {
    const list = parseRelationshipList('t1:v1, T2:t3, f():t4, s.g():t5');
    expect(written(['INSERT INTO t1 VALUES (1)'], list)).toEqual(['t1', 'v1']);
    expect(written(['DELETE FROM t2'], list)).toEqual(['t2', 't3']);
    expect(written(['SELECT f(1)'], list)).toEqual(['t4']);
    expect(written(['SELECT myschema.f()'], list)).toEqual(['t4']);
    // A relation named f is no function f().
    expect(written(['INSERT INTO f VALUES (1)'], list)).toEqual(['f']);
  });

  it('returns the same set when a statement adds nothing new', () => {
    const before: ReadonlySet<string> = new Set(['t1']);
    const { cls } = classifier.classify('UPDATE t1 SET a = 1');
    expect(writtenAfter(before, { read: false, relations: cls.mentions, functions: [] }, [])).toBe(before);
  });
});

describe('reads after writes in a transaction (the spec’s row 51)', () => {
  it.each<[string[], string, string, boolean]>([
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM t2', '', false],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT count(*) FROM t1', '', true],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM T1', '', true],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM other.t1', '', true],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM t2 JOIN (SELECT * FROM t1) s ON true', '', true],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM v1', 't1:v1', true],
    [['INSERT INTO t1 VALUES (1)'], 'SELECT * FROM v1', 't2:v1', false],
    [['SELECT f()'], 'SELECT * FROM t4', 'f():t4', true],
    [[], 'SELECT * FROM t1', '', false],
  ])('after %j, %s (list %j) → primary %s', (writes, read, list, expected) => {
    expect(toPrimary(writes, read, list)).toBe(expected);
  });
});

describe('dml_adaptive_object_relationship_list', () => {
  it('parses pairs, function entries and case', () => {
    expect(parseRelationshipList(' tbl1:Tbl2 , f():tbl3 ')).toEqual([
      { left: 'tbl1', leftIsFunction: false, right: 'tbl2' },
      { left: 'f', leftIsFunction: true, right: 'tbl3' },
    ]);
    expect(parseRelationshipList('')).toEqual([]);
  });

  it.each(['t1', 't1:', ':t2', 't1:t2:t3', 't1:t2,'])('refuses %j, naming the entry', (text) => {
    expect(() => parseRelationshipList(text)).toThrow(/invalid entry "[^"]*": expected object:dependent_object/);
  });
});
