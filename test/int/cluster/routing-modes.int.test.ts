// Routing modes against a real primary and a real streaming standby: dml_adaptive keeps
// only the reads of relations written in the transaction on the primary; routing observed
// with inet_server_port() on each node.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type ConfValues } from '../../helpers/pooler.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { portOf, primaryFound, routingConf, standbyHas, withClient } from '../../helpers/routing.js';

let pair: ReplicatedPair;

beforeAll(async () => {
  pair = await startAppPair();
  const c = new pg.Client({ host: pair.primary.host, port: pair.primary.port, user: 'postgres', database: 'app' });
  await c.connect();
  await c.query("INSERT INTO t (v) VALUES ('seed')");
  await c.query('CREATE TABLE dependent (i int); INSERT INTO dependent VALUES (1)');
  await c.query('CREATE TABLE unrelated (i int); INSERT INTO unrelated VALUES (1)');
  await c.end();
  await standbyHas(pair, 'SELECT count(*) = 1 FROM unrelated');
});

afterAll(async () => {
  await stopAllPoolers();
  await pair?.stop();
});

async function pooler(values: ConfValues) {
  const p = await startPooler(routingConf(pair, values));
  await primaryFound(p);
  return p;
}

describe('disable_load_balance_on_write = dml_adaptive', () => {
  it('after a write in a transaction, only reads of that table and its dependents go to the primary', async () => {
    const p = await pooler({
      disable_load_balance_on_write: 'dml_adaptive',
      dml_adaptive_object_relationship_list: 't:dependent',
    });
    await withClient(p, async (c) => {
      const from = (table: string) => portOf(c, `SELECT inet_server_port() AS port FROM ${table} LIMIT 1`);
      await c.query('BEGIN');
      expect(await from('t')).toBe(pair.standby.port);
      await c.query("INSERT INTO t (v) VALUES ('dml')");
      expect(await from('unrelated')).toBe(pair.standby.port);
      expect(await from('t')).toBe(pair.primary.port);
      expect(await from('dependent')).toBe(pair.primary.port);
      // Where the write ran, the uncommitted row is seen.
      expect((await c.query("SELECT count(*)::int AS n FROM t WHERE v = 'dml'")).rows[0].n).toBe(1);
      await c.query('COMMIT');
      expect(await from('t')).toBe(pair.standby.port);
      // A new transaction starts with nothing written.
      await c.query('BEGIN');
      expect(await from('dependent')).toBe(pair.standby.port);
      await c.query('COMMIT');
    });
    await p.stop();
  });

  it('transaction mode (the default) sends every read after the write to the primary', async () => {
    const p = await pooler({});
    await withClient(p, async (c) => {
      await c.query('BEGIN');
      await c.query("INSERT INTO t (v) VALUES ('tx')");
      expect(await portOf(c, 'SELECT inet_server_port() AS port FROM unrelated')).toBe(pair.primary.port);
      await c.query('COMMIT');
    });
    await p.stop();
  });
});
