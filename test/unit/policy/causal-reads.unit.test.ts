// causal_reads (docs/behaviour.md#causal-reads): which statements run on the primary make
// the session's reads wait for the standby, and the log-position check's text.
import { beforeAll, describe, expect, it } from 'vitest';
import { mayWrite, replayedQuery } from '../../../src/policy/causal-reads.js';
import { isRead, type RouteSettings } from '../../../src/policy/route-decision.js';
import { DEFAULT_ROUTE_SETTINGS } from '../../helpers/route-settings.js';
import { loadParser, StatementClassifier } from '../../../src/worker/routing/classifier.js';

const classifier = new StatementClassifier();
beforeAll(loadParser);

const SETTINGS: RouteSettings = DEFAULT_ROUTE_SETTINGS;

describe('mayWrite', () => {
  it.each<[string, boolean]>([
    ["INSERT INTO t VALUES ('x')", true],
    ['UPDATE t SET v = 1', true],
    ['DELETE FROM t', true],
    ['CREATE TABLE x (i int)', true],
    ["SELECT nextval('s')", true],
    ['SELECT my_volatile()', true],
    ['SELECT * FROM t FOR UPDATE', true],
    ['SELECT 1; SELECT 2', true],
    ['EXECUTE prepared_insert', true],
    ['SELECT * FROM pg_class', false],
    ['SELECT 1', false],
    ['SHOW work_mem', false],
    ["SET work_mem = '8MB'", false],
    ['BEGIN', false],
    ['COMMIT', false],
    ['SAVEPOINT a', false],
  ])('%s → %s', (sql, expected) => {
    const { cls, multi } = classifier.classify(sql);
    expect(mayWrite({ cls, read: isRead(cls, sql, SETTINGS), multi })).toBe(expected);
  });
});

describe('replayedQuery', () => {
  it('compares the replay position with the captured one', () => {
    expect(replayedQuery('0/3000148')).toBe("SELECT pg_last_wal_replay_lsn() >= '0/3000148'::pg_lsn");
    expect(replayedQuery('1A/FF00AB')).toBe("SELECT pg_last_wal_replay_lsn() >= '1A/FF00AB'::pg_lsn");
  });

  it.each([null, undefined, '', "0/1'; DROP TABLE t; --", '0/', '12345'])('refuses %j', (lsn) => {
    expect(replayedQuery(lsn)).toBeUndefined();
  });
});
