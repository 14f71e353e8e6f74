// A routed session's transaction view, owned by its SessionRouter: a multi-statement
// query that opened a transaction keeps BOTH statements on the primary; a standby read
// failing inside a transaction makes the client's status failed until the transaction
// ends; serializable settings; and the catalog answers it caches per statement class.
import { beforeAll, describe, expect, it } from 'vitest';
import { TxStatus } from '../../../../src/protocol/tx-status.js';
import { CatalogFacts } from '../../../../src/worker/routing/catalog-facts.js';
import { loadParser, StatementClassifier } from '../../../../src/worker/routing/classifier.js';
import { PreparedStatements } from '../../../../src/worker/routing/prepared-statements.js';
import { SessionRouter } from '../../../../src/worker/routing/session-router.js';
import { loadConfigText } from '../../../helpers/config.js';
import { createLogger } from '../../../../src/logging/logger.js';

beforeAll(loadParser);

const T = TxStatus.InTransaction;
const I = TxStatus.Idle;

function router(cfgText = '') {
  const cfg = loadConfigText(cfgText);
  const facts = new CatalogFacts();
  const r = new SessionRouter({
    config: () => cfg,
    classifier: new StatementClassifier(),
    facts,
    prepared: new PreparedStatements(),
    database: 'app',
    log: () => createLogger('test', 'info', undefined, () => {}),
    client: 'test',
    lbNode: 1,
    lbDelayed: () => false,
    readOnStandby: () => true,
  });
  return { r, facts, cfg };
}

const mustNotAsk = async (): Promise<Array<string | null>> => {
  throw new Error('no node must be asked');
};
const noCatalog = { primary: mustNotAsk, standby: mustNotAsk };

describe('SessionRouter', () => {
  it('a multi-statement query that opened a transaction keeps SAVEPOINT and COMMIT on the primary', async () => {
    const { r } = router();
    const multi = r.classify('BEGIN; INSERT INTO t VALUES (1)');
    r.completed([r.routed(multi, 'BEGIN; INSERT INTO t VALUES (1)')], true, T);
    expect(await r.destination(r.classify('SAVEPOINT s'), 'SAVEPOINT s', noCatalog)).toBe('primary');
    r.completed([r.routed(r.classify('COMMIT'), 'COMMIT')], true, I);
    expect(await r.destination(r.classify('SAVEPOINT s'), 'SAVEPOINT s', noCatalog)).toBe('both');
  });

  it('a standby read failing in a transaction: the client sees a failed transaction until it ends', () => {
    const { r } = router();
    r.completed([r.routed(r.classify('BEGIN'), 'BEGIN')], true, T);
    expect(r.clientStatus).toBe(T);
    r.completed([r.routed(r.classify('SELECT 1'), 'SELECT 1')], false, undefined, true);
    expect([r.failedOnStandby, r.clientStatus]).toEqual([true, TxStatus.Failed]);
    r.completed([r.routed(r.classify('ROLLBACK'), 'ROLLBACK')], true, I);
    expect([r.failedOnStandby, r.clientStatus]).toEqual([false, I]);
    // Outside a transaction a failed standby read leaves nothing behind.
    r.completed([r.routed(r.classify('SELECT 1'), 'SELECT 1')], false, undefined, true);
    expect(r.failedOnStandby).toBe(false);
  });

  it('SET SESSION CHARACTERISTICS … SERIALIZABLE keeps every later transaction’s reads on the primary; SET TRANSACTION only that one', async () => {
    const read = async (r: SessionRouter) => r.destination(r.classify('SELECT 1'), 'SELECT 1', noCatalog);
    const a = router().r;
    const session = 'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE';
    a.completed([a.routed(a.classify(session), session)], true, I);
    a.completed([a.routed(a.classify('BEGIN'), 'BEGIN')], true, T);
    expect(await read(a)).toBe('primary');
    a.completed([a.routed(a.classify('COMMIT'), 'COMMIT')], true, I);
    a.completed([a.routed(a.classify('BEGIN'), 'BEGIN')], true, T);
    expect(await read(a)).toBe('primary');

    const b = router().r;
    b.completed([b.routed(b.classify('BEGIN'), 'BEGIN')], true, T);
    const tx = 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE';
    b.completed([b.routed(b.classify(tx), tx)], true, T);
    expect(await read(b)).toBe('primary');
    b.completed([b.routed(b.classify('COMMIT'), 'COMMIT')], true, I);
    b.completed([b.routed(b.classify('BEGIN'), 'BEGIN')], true, T);
    expect(await read(b)).toBe('lb');
  });

  it('a commented SELECT is no read (the text rule): in a transaction it marks it writing', async () => {
    const { r } = router();
    r.completed([r.routed(r.classify('BEGIN'), 'BEGIN')], true, T);
    const sql = '/*c*/ SELECT 1';
    expect(r.routed(r.classify(sql), sql).read).toBe(false);
    r.completed([r.routed(r.classify(sql), sql)], true, T);
    expect(await r.destination(r.classify('SELECT 2'), 'SELECT 2', noCatalog)).toBe('primary');
  });
});

describe('CatalogFacts', () => {
  it('asks once per statement, answers from memory after, and again after DDL or a new configuration', async () => {
    const { r, facts } = router();
    let asked = 0;
    const ask = {
      primary: async () => {
        asked++;
        return ['f', 't', 'f', 'f'];
      },
      standby: mustNotAsk,
    };
    const sql = 'SELECT * FROM tt';
    const c = r.classify(sql);
    expect(await r.destination(c, sql, ask)).toBe('primary'); // a temporary table
    expect(await r.destination(c, sql, ask)).toBe('primary');
    expect([asked, facts.queries, facts.hits]).toEqual([1, 1, 0]);
    facts.invalidate();
    expect(facts.known(c.cls, sql, 'app', router().cfg)).toBeUndefined();
    await r.destination(c, sql, ask);
    expect(asked).toBe(2);
    // A pattern list decides without the catalog, under the configuration that has it.
    const listed = router("primary_routing_query_pattern_list = '.*tt.*'");
    expect(listed.facts.known(c.cls, sql, 'app', listed.cfg)).toMatchObject({ primaryPattern: true });
    expect(listed.facts.known(c.cls, sql, 'app', router().cfg)).toBeUndefined();
  });

  it('causal_reads: after a committed write, reads wait on the primary until the standby has replayed it', async () => {
    const { r } = router('causal_reads = session');
    const asked: string[] = [];
    let replayed = 'f';
    const ask = {
      primary: async (sql: string) => (asked.push(`primary: ${sql}`), ['0/3000148']),
      standby: async (sql: string) => (asked.push(`standby: ${sql}`), [replayed]),
    };
    const go = (sql: string) => r.destination(r.classify(sql), sql, ask);
    const done = (sql: string, status?: number) => r.completed([r.routed(r.classify(sql), sql)], true, status);
    expect(await go('SELECT 1')).toBe('lb');
    done("INSERT INTO t VALUES ('w')", I);
    expect(await go('SELECT 1')).toBe('primary');
    expect(await go('SELECT 1')).toBe('primary');
    expect(asked).toEqual([
      'primary: SELECT pg_current_wal_insert_lsn()',
      "standby: SELECT pg_last_wal_replay_lsn() >= '0/3000148'::pg_lsn",
      "standby: SELECT pg_last_wal_replay_lsn() >= '0/3000148'::pg_lsn",
    ]);
    expect(r.readForStandbyNow('SELECT 1')).toBeUndefined();
    replayed = 't';
    expect(await go('SELECT 1')).toBe('lb');
    asked.length = 0;
    expect(await go('SELECT 1')).toBe('lb');
    expect(asked).toEqual([]);
    // Reads, settings and transaction control leave nothing to wait for; a write in a transaction does at its COMMIT.
    for (const [sql, status] of [
      ['SELECT 1', undefined],
      ["SET work_mem = '8MB'", I],
      ['BEGIN', T],
      ['UPDATE t SET v = 1', T],
    ] as const)
      done(sql, status);
    expect(await go('SELECT 1')).toBe('primary'); // in the writing transaction, by pgpool's rules
    done('COMMIT', I);
    replayed = 'f';
    expect(await go('BEGIN')).toBe('both');
    done('BEGIN', T);
    // Not replayed before BEGIN: the transaction's reads stay on the primary without asking.
    asked.length = 0;
    expect(await go('SELECT 1')).toBe('primary');
    expect(asked).toEqual([]);
  });

  it('causal_reads off: a write leaves reads on the standby and nothing is asked', async () => {
    const { r } = router();
    r.completed([r.routed(r.classify("INSERT INTO t VALUES ('w')"), "INSERT INTO t VALUES ('w')")], true, I);
    expect(await r.destination(r.classify('SELECT 1'), 'SELECT 1', noCatalog)).toBe('lb');
  });
});
