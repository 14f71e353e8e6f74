// check_temp_table = trace: the session's temporary tables from the statements that
// succeeded, and the parser's view of what creates and drops them.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  afterBlock,
  afterStatement,
  NO_TEMP_TABLES,
  usesTempTable,
  type TempTables,
} from '../../../src/policy/temp-tables.js';
import { loadParser, StatementClassifier } from '../../../src/worker/routing/classifier.js';

beforeAll(loadParser);
const classifier = new StatementClassifier();
const cls = (sql: string) => classifier.classify(sql).cls;

/** Runs statements as a session would: [sql, in a block after it]; BEGIN/COMMIT/ROLLBACK end blocks. */
function run(steps: Array<[string, boolean]>, from: TempTables = NO_TEMP_TABLES): string[] {
  let t = from;
  let inBlock = false;
  for (const [sql, after] of steps) {
    const c = cls(sql);
    if (c.temp) t = afterStatement(t, c.temp, after);
    if (inBlock && !after) t = afterBlock(t, !c.rollback);
    inBlock = after;
  }
  return [...t.names].sort();
}

describe('temporary tables traced', () => {
  it('reads what the parser says each statement creates, drops or discards', () => {
    expect(cls('CREATE TEMP TABLE tt (a int)').temp).toEqual({ creates: 'tt' });
    expect(cls('CREATE TEMPORARY TABLE pg_temp.t2 AS SELECT 1').temp).toEqual({ creates: 't2' });
    expect(cls('SELECT * INTO TEMP t4 FROM t').temp).toEqual({ creates: 't4' });
    expect(cls('CREATE TABLE p (a int)').temp).toBeUndefined();
    expect(cls('DROP TABLE tt, public.x, pg_temp.y').temp).toEqual({ drops: ['tt', 'y'] });
    expect(cls('DROP VIEW v').temp).toBeUndefined();
    expect([cls('DISCARD TEMP').temp, cls('DISCARD ALL').temp, cls('DISCARD PLANS').temp]).toEqual([
      { discards: true },
      { discards: true },
      undefined,
    ]);
    expect([cls('ROLLBACK').rollback, cls('ABORT').rollback, cls('COMMIT').rollback]).toEqual([true, true, undefined]);
  });

  it.each<[string, Array<[string, boolean]>, string[]]>([
    ['created outside a block', [['CREATE TEMP TABLE a (x int)', false]], ['a']],
    [
      'dropped outside a block',
      [
        ['CREATE TEMP TABLE a (x int)', false],
        ['DROP TABLE a', false],
      ],
      [],
    ],
    [
      'created in a block that commits',
      [
        ['BEGIN', true],
        ['CREATE TEMP TABLE a (x int)', true],
        ['COMMIT', false],
      ],
      ['a'],
    ],
    [
      'created in a block that rolls back',
      [
        ['BEGIN', true],
        ['CREATE TEMP TABLE a (x int)', true],
        ['ROLLBACK', false],
      ],
      [],
    ],
    [
      'dropped in a block that rolls back: still there',
      [
        ['CREATE TEMP TABLE a (x int)', false],
        ['BEGIN', true],
        ['DROP TABLE a', true],
        ['ROLLBACK', false],
      ],
      ['a'],
    ],
    [
      'dropped and created again in a block that commits: there',
      [
        ['CREATE TEMP TABLE a (x int)', false],
        ['BEGIN', true],
        ['DROP TABLE a', true],
        ['CREATE TEMP TABLE a (y int)', true],
        ['COMMIT', false],
      ],
      ['a'],
    ],
    [
      'dropped and created again in a block that rolls back: the old one is there',
      [
        ['CREATE TEMP TABLE a (x int)', false],
        ['BEGIN', true],
        ['DROP TABLE a', true],
        ['CREATE TEMP TABLE a (y int)', true],
        ['ROLLBACK', false],
      ],
      ['a'],
    ],
    [
      'DISCARD TEMP forgets all',
      [
        ['CREATE TEMP TABLE a (x int)', false],
        ['DISCARD TEMP', false],
      ],
      [],
    ],
  ])('%s', (_name, steps, names) => {
    expect(run(steps)).toEqual(names);
  });

  it('a read uses a traced table by its bare name or in pg_temp, not in another schema', () => {
    const t = afterStatement(NO_TEMP_TABLES, { creates: 'tt' }, false);
    expect(usesTempTable(t, cls('SELECT * FROM tt').relations)).toBe(true);
    expect(usesTempTable(t, cls('SELECT * FROM pg_temp.tt').relations)).toBe(true);
    expect(usesTempTable(t, cls('SELECT * FROM public.tt').relations)).toBe(false);
    expect(usesTempTable(t, cls('SELECT * FROM other').relations)).toBe(false);
    expect(usesTempTable(NO_TEMP_TABLES, cls('SELECT * FROM tt').relations)).toBe(false);
  });
});
