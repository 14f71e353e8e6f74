// Routing modes against a real primary and a real streaming standby: dml_adaptive keeps
// only the reads of relations written in the transaction on the primary; causal_reads
// makes a session read its own writes while the standby's replay is paused;
// statement_level_load_balance spreads one session's reads; relcache_expire makes the
// catalog's answers expire; the per-node statement counters; routing observed with
// inet_server_port() on each node.
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type ConfValues } from '../../helpers/pooler.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { pollUntil } from '../../helpers/poll.js';
import { freePort } from '../../helpers/ports.js';
import { direct, portOf, primaryFound, routingConf, standbyHas, withClient } from '../../helpers/routing.js';

let pair: ReplicatedPair;

beforeAll(async () => {
  pair = await startAppPair();
  const c = await direct(pair.primary);
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

describe('causal_reads = session', () => {
  /** Runs `f` with the standby's replay paused. */
  async function replayPaused(f: () => Promise<void>): Promise<void> {
    const standby = await direct(pair.standby);
    try {
      await standby.query('SELECT pg_wal_replay_pause()');
      await f();
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
      await standby.end();
    }
  }

  /** Writes a row and reads it back at once, `rounds` times: where each read ran and whether it saw its row. */
  async function writeThenRead(c: pg.Client, tag: string, rounds: number): Promise<Array<[number, number]>> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < rounds; i++) {
      const v = `${tag}-${i}`;
      await c.query('INSERT INTO t (v) VALUES ($1)', [v]);
      const r = await c.query('SELECT inet_server_port() AS port, count(*)::int AS n FROM t WHERE v = $1', [v]);
      out.push([r.rows[0].port, r.rows[0].n]);
    }
    return out;
  }

  it('a read after the session’s write sees it every time while the standby lags; without it, it does not', async () => {
    const causal = await pooler({ causal_reads: 'session' });
    const plain = await pooler({});
    await replayPaused(async () => {
      await withClient(causal, async (c) => {
        expect(await writeThenRead(c, 'causal', 20)).toEqual(Array(20).fill([pair.primary.port, 1]));
      });
      await withClient(plain, async (c) => {
        expect(await writeThenRead(c, 'plain', 3)).toEqual(Array(3).fill([pair.standby.port, 0]));
      });
    });
    // Replayed: the causal session's reads are back on the standby and see the rows.
    await withClient(causal, async (c) => {
      await c.query("INSERT INTO t (v) VALUES ('caught-up')");
      await pollUntil(
        async () => (await portOf(c)) === pair.standby.port,
        'reads back on the standby after replay',
        20_000,
      );
      const r = await c.query("SELECT inet_server_port() AS port, count(*)::int AS n FROM t WHERE v = 'caught-up'");
      expect(r.rows[0]).toEqual({ port: pair.standby.port, n: 1 });
    });
    await causal.stop();
    await plain.stop();
  });

  it('a session that has not written reads from the lagging standby at once', async () => {
    const causal = await pooler({ causal_reads: 'session' });
    await replayPaused(() => withClient(causal, async (c) => expect(await portOf(c)).toBe(pair.standby.port)));
    await causal.stop();
  });
});

describe('statement_level_load_balance', () => {
  /** Where 40 reads of one session ran. */
  const reads = (c: pg.Client) =>
    Array.from({ length: 40 }).reduce<Promise<Set<number>>>(
      async (seen, _) => (await seen).add(await portOf(c)),
      Promise.resolve(new Set()),
    );

  it('with weights 1 : 1 one session’s reads go to both nodes; without it, all to one', async () => {
    const weights = { backend_weight0: 1, backend_weight1: 1 };
    const perStatement = await pooler({ ...weights, statement_level_load_balance: true });
    await withClient(perStatement, async (c) => {
      expect([...(await reads(c))].sort()).toEqual([pair.standby.port, pair.primary.port].sort());
      // Writes stay on the primary; BEGIN reaches both, and the transaction's reads after its write the primary.
      await c.query('BEGIN');
      await c.query("INSERT INTO t (v) VALUES ('statement level')");
      expect([...(await reads(c))]).toEqual([pair.primary.port]);
      await c.query('COMMIT');
    });
    await perStatement.stop();
    const perSession = await pooler(weights);
    await withClient(perSession, async (c) => expect((await reads(c)).size).toBe(1));
    await perSession.stop();
  });
});

describe('relcache_expire', () => {
  it('a function made volatile behind the pooler’s back: its reads reach the primary once the answer expired', async () => {
    const c = await direct(pair.primary);
    await c.query("CREATE FUNCTION made_volatile() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1'");
    await standbyHas(pair, "SELECT count(*) = 1 FROM pg_proc WHERE proname = 'made_volatile'");
    const kept = await pooler({});
    const expiring = await pooler({ relcache_expire: 1 });
    const sql = 'SELECT made_volatile() AS v, inet_server_port() AS port';
    const ports = () => Promise.all([kept, expiring].map((p) => withClient(p, (pc) => portOf(pc, sql))));
    expect(await ports()).toEqual([pair.standby.port, pair.standby.port]);
    // Straight on the primary: no session of the poolers saw the DDL.
    await c.query('ALTER FUNCTION made_volatile() VOLATILE');
    await c.end();
    await new Promise((r) => setTimeout(r, 1100));
    // relcache_expire = 0 (the default) keeps the old answer; 1 s asks the catalog again.
    expect(await ports()).toEqual([pair.standby.port, pair.primary.port]);
    await Promise.all([kept.stop(), expiring.stop()]);
  });
});

describe('statement counters', () => {
  it('SHOW pool_backend_stats, pool_nodes and /metrics count each node’s statements by kind and its errors', async () => {
    const metricsPort = await freePort();
    const p = await pooler({ metrics_port: metricsPort, metrics_listen_addresses: '127.0.0.1' });
    const { backend, nodes } = await withClient(p, async (c) => {
      for (let i = 0; i < 3; i++) await c.query('SELECT 1');
      await c.query("INSERT INTO t (v) VALUES ('counted')");
      await c.query('BEGIN');
      await c.query('COMMIT');
      await expect(c.query('SELECT 1/0')).rejects.toThrow('division by zero');
      for (let i = 0; i < 2; i++) await c.query({ text: 'SELECT $1::int AS x', values: [i] });
      await c.query('UPDATE t SET v = v WHERE false');
      await c.query("SET work_mem = '8MB'");
      return {
        backend: (await c.query('SHOW pool_backend_stats')).rows,
        nodes: (await c.query('SHOW pool_nodes')).rows,
      };
    });
    const counters = (r: Record<string, string>) =>
      ['select', 'insert', 'update', 'delete', 'ddl', 'other', 'panic', 'fatal', 'error'].map((k) => r[`${k}_cnt`]);
    // Node 0 the standby: the reads, BEGIN/COMMIT/SET and the read that failed there; node 1 the primary: the writes.
    expect(backend.map(counters)).toEqual([
      ['6', '0', '0', '0', '0', '3', '0', '0', '1'],
      ['0', '1', '1', '0', '0', '3', '0', '0', '0'],
    ]);
    expect(nodes.map((r) => r.select_cnt)).toEqual(['6', '0']);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(
      new RegExp(
        `^pgpool2_pool_backend_stats_select_cnt\\{hostname="[^"]+",port="${pair.standby.port}",role="standby"\\} 6$`,
        'm',
      ),
    );
    expect(text).toMatch(
      new RegExp(
        `^pgpool2_pool_backend_stats_insert_cnt\\{hostname="[^"]+",port="${pair.primary.port}",role="primary"\\} 1$`,
        'm',
      ),
    );
    await p.stop();
  });
});

describe('notice_per_node_statement and log_per_node_statement', () => {
  it('tell the client and the log which node each statement went to, both nodes for BEGIN and COMMIT', async () => {
    const p = await pooler({
      notice_per_node_statement: true,
      log_per_node_statement: true,
      log_backend_messages: 'terse',
      log_format: 'json',
    });
    const notices: { severity?: string; code?: string; message?: string }[] = [];
    const texts = () => notices.splice(0).map((n) => n.message ?? '');
    await withClient(p, async (c) => {
      c.on('notice', (n) => notices.push(n));
      // Node 0 is the standby (the load-balance node), node 1 the primary.
      expect(await portOf(c, 'SELECT inet_server_port() AS port')).toBe(pair.standby.port);
      expect(notices[0]).toMatchObject({ severity: 'NOTICE', code: 'XX000' });
      expect(texts()).toEqual(['DB node id: 0 statement: SELECT inet_server_port() AS port']);
      await c.query('BEGIN');
      expect(texts().sort()).toEqual(['DB node id: 0 statement: BEGIN', 'DB node id: 1 statement: BEGIN']);
      await c.query("INSERT INTO t (v) VALUES ('notice')");
      expect(texts()).toEqual(["DB node id: 1 statement: INSERT INTO t (v) VALUES ('notice')"]);
      await c.query('COMMIT');
      // pgpool ends the standby's transaction first.
      expect(texts()).toEqual(['DB node id: 0 statement: COMMIT', 'DB node id: 1 statement: COMMIT']);
      await c.query({ text: 'SELECT $1::int AS v', values: [5] });
      const extended = texts();
      expect(extended).toContain('DB node id: 0 statement: Parse: SELECT $1::int AS v');
      expect(extended).toContain('DB node id: 0 statement: Execute: SELECT $1::int AS v');
      expect(extended.every((t) => t.startsWith('DB node id: 0 '))).toBe(true);
      // client_min_messages = warning holds pgpool's notices back; PGPOOL RESET lets them through again.
      await c.query('PGPOOL SET client_min_messages = warning');
      await c.query('SELECT 1');
      expect(texts()).toEqual([]);
      await c.query('PGPOOL RESET client_min_messages');
      await c.query('SELECT 2');
      expect(texts()).toEqual(['DB node id: 0 statement: SELECT 2']);
    });
    await p.waitForLog(/statement: SELECT 2/);
    const logged = p
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => String((JSON.parse(l) as { msg: unknown }).msg))
      .filter((m) => /^DB node id: \d backend pid: \d+ statement: (BEGIN|COMMIT)$/.test(m))
      .map((m) => m.replace(/backend pid: \d+ /, ''));
    expect(logged.slice(0, 2).sort()).toEqual(['DB node id: 0 statement: BEGIN', 'DB node id: 1 statement: BEGIN']);
    // log_backend_messages names the node each reply came from: the read's row from the standby, the INSERT's tag from the primary.
    const msgs = p.logs();
    expect(msgs).toContain('"msg":"DataRow message from backend 0"');
    expect(msgs).toContain('"msg":"CommandComplete message from backend 1"');
    expect(logged.slice(2)).toEqual(['DB node id: 0 statement: COMMIT', 'DB node id: 1 statement: COMMIT']);
    await p.stop();
  });

  it('postgres.js pipelining big reads and writes on one connection gets every reply whole, with its notices', async () => {
    const p = await pooler({ notice_per_node_statement: true, client_min_messages: 'log', log_statement: true });
    const notices: string[] = [];
    const sql = postgres({ ...p.client('postgres', 'app'), max: 1, onnotice: (n) => notices.push(n.message) });
    try {
      const runs = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 4 === 3
            ? sql`INSERT INTO t (v) VALUES (${`pipelined ${i}`}) RETURNING inet_server_port() AS port`
            : sql`SELECT ${i}::int AS i, repeat('y', 100000) AS big, inet_server_port() AS port FROM generate_series(1, 20)`,
        ),
      );
      runs.forEach((rows, i) => {
        if (i % 4 === 3) expect(rows).toEqual([{ port: pair.primary.port }]);
        else {
          expect(rows).toHaveLength(20);
          expect(rows.every((r) => r.i === i && r.big.length === 100000 && r.port === pair.standby.port)).toBe(true);
        }
      });
      // log_statement's lines, sent as LOG (postgres.js also asks for the array types once).
      expect(notices.filter((n) => /^statement: (SELECT \$1::int|INSERT)/.test(n))).toHaveLength(12);
      expect(notices.filter((n) => n.startsWith('DB node id: 1 statement: Execute: INSERT'))).toHaveLength(3);
    } finally {
      await sql.end();
    }
    await p.stop();
  });
});
