// Load balancing against a real primary and a real streaming standby: reads go to the
// session's load-balance node, writes and everything pgpool keeps on the primary go
// there, a write in a transaction pulls later reads to the primary, BOTH statements reach
// both nodes, prepared statements follow the node a Bind goes to; routing observed with
// inet_server_port() (STABLE) on each node.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type ConfValues, type Pooler } from '../../helpers/pooler.js';
import { freePort } from '../../helpers/ports.js';

import { closeRawConnections, messageTypes, rawConnect, startupPacket, type RawConn } from '../../helpers/raw.js';
import { pollUntil } from '../../helpers/poll.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { SCRAPE_FIXTURE, sampleNames } from '../../helpers/scrape-names.js';
import {
  direct,
  portOf,
  primaryFound,
  routingConf,
  standbyHas,
  withClient as withPooler,
} from '../../helpers/routing.js';

/** Waits for a ReadyForQuery after byte `at`; everything received. */
async function readyAfter(c: RawConn, at: number): Promise<Buffer> {
  const types = () => messageTypes(c.received().subarray(at));
  await pollUntil(
    () => types().endsWith('Z'),
    () => `a ReadyForQuery: ${types()}`,
    10_000,
    10,
  );
  return c.received();
}

/** The first column of every DataRow in `buf`, from byte `from` on. */
function firstColumns(buf: Buffer, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; i + 5 <= buf.length; i += 1 + buf.readInt32BE(i + 1)) {
    if (buf[i] !== 0x44) continue;
    const len = buf.readInt32BE(i + 7);
    out.push(buf.toString('utf8', i + 11, i + 11 + len));
  }
  return out;
}

let pair: ReplicatedPair;
let p: Pooler;
let metricsPort = 0;
const run = promisify(execFile);

/** psql through the pooler with `input` on stdin; its stdout. */
function psql(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-h', p.host, '-p', String(p.port), '-U', 'postgres', '-d', 'app', '-At', ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`psql exited ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

const conf = (values: ConfValues = {}): ConfValues => routingConf(pair, values);
const ready = primaryFound;

beforeAll(async () => {
  pair = await startAppPair();
  metricsPort = await freePort();
  p = await startPooler(conf({ metrics_port: metricsPort, metrics_listen_addresses: '127.0.0.1' }));
  await ready(p);
});

afterAll(async () => {
  closeRawConnections();
  await stopAllPoolers();
  await pair?.stop();
});

const withClient = <T>(f: (c: pg.Client) => Promise<T>, pooler = p): Promise<T> => withPooler(pooler, f);
const port = portOf;

describe('load balancing', () => {
  it('a read goes to the standby, a write to the primary, simple and extended protocol', async () => {
    await withClient(async (c) => {
      expect(await port(c)).toBe(pair.standby.port);
      expect((await c.query({ text: 'SELECT inet_server_port() AS port, $1::int AS x', values: [7] })).rows[0]).toEqual(
        {
          port: pair.standby.port,
          x: 7,
        },
      );
      expect(await port(c, "INSERT INTO t (v) VALUES ('w') RETURNING inet_server_port() AS port")).toBe(
        pair.primary.port,
      );
      // pg_is_in_recovery() is VOLATILE: pgpool's rules keep it on the primary.
      expect((await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(false);
      expect(await port(c, "SELECT nextval('s') > 0 AS ok, inet_server_port() AS port")).toBe(pair.primary.port);
      expect(await port(c, 'SELECT inet_server_port() AS port FROM pg_catalog.pg_class LIMIT 1')).toBe(
        pair.primary.port,
      );
    });
  });

  it('a reply over many reads reaches the client whole from the standby, and an error after rows too', async () => {
    await withClient(async (c) => {
      // 400 rows of 5,000 bytes: messages split across the socket's reads.
      const sql =
        'SELECT inet_server_port() AS port, i, repeat(chr(65 + i % 26), 5000) AS v FROM generate_series(1, 400) i';
      for (const extended of [false, true]) {
        const r = extended ? await c.query({ text: sql, values: [] }) : await c.query(sql);
        expect(r.rows.length).toBe(400);
        expect(new Set(r.rows.map((row: { port: number }) => row.port))).toEqual(new Set([pair.standby.port]));
        expect(
          r.rows.every(
            (row: { i: number; v: string }) => row.v === String.fromCharCode(65 + (row.i % 26)).repeat(5000),
          ),
        ).toBe(true);
      }
      // Rows sent, then division by zero: the client gets the error, and the session goes on.
      const failing = 'SELECT inet_server_port() AS port, 1 / (400 - i) AS x FROM generate_series(1, 400) i';
      await expect(c.query(failing)).rejects.toMatchObject({ code: '22012', message: 'division by zero' });
      await expect(c.query({ text: failing, values: [] })).rejects.toMatchObject({ code: '22012' });
      expect(await port(c)).toBe(pair.standby.port);
    });
  });

  it('a write in a transaction pulls later reads to the primary; after COMMIT they balance again', async () => {
    await withClient(async (c) => {
      await c.query('BEGIN');
      expect(await port(c)).toBe(pair.standby.port);
      await c.query("INSERT INTO t (v) VALUES ('in tx')");
      expect(await port(c)).toBe(pair.primary.port);
      // The uncommitted row is seen: the read ran where the write did.
      expect((await c.query("SELECT count(*)::int AS n FROM t WHERE v = 'in tx'")).rows[0].n).toBe(1);
      await c.query('COMMIT');
      expect(await port(c)).toBe(pair.standby.port);
    });
  });

  it('SET goes to both nodes; a temporary table is read on the primary', async () => {
    await withClient(async (c) => {
      await c.query("SET work_mem = '8MB'");
      expect((await c.query('SHOW work_mem')).rows[0].work_mem).toBe('8MB');
      expect(await port(c, "SELECT inet_server_port() AS port, current_setting('work_mem') AS w")).toBe(
        pair.standby.port,
      );
      await c.query('CREATE TEMP TABLE tt (i int)');
      await c.query('INSERT INTO tt VALUES (1)');
      expect(await port(c, 'SELECT inet_server_port() AS port FROM tt')).toBe(pair.primary.port);
    });
  });

  it('check_temp_table = trace: the session follows its temp tables, and asks the catalog nothing', async () => {
    const metrics = await freePort();
    const q = await startPooler(
      conf({
        check_temp_table: 'trace',
        check_unlogged_table: false,
        // The functions' volatility known from the list: nothing else could need the catalog.
        read_only_function_list: 'inet_server_port,count',
        metrics_port: metrics,
        metrics_listen_addresses: '127.0.0.1',
      }),
    );
    await ready(q);
    // t is a permanent table on both nodes; a temporary t shadows it in this session only.
    const read = 'SELECT inet_server_port() AS port, (SELECT count(*) FROM t) AS n';
    await withClient(async (c) => {
      expect(await port(c, read)).toBe(pair.standby.port);
      await c.query('CREATE TEMP TABLE t (i int)');
      expect(await port(c, read)).toBe(pair.primary.port);
      expect(await port(c, 'SELECT inet_server_port() AS port FROM pg_temp.t RIGHT JOIN (SELECT 1) x ON true')).toBe(
        pair.primary.port,
      );
      await c.query('DROP TABLE t'); // the temporary one
      expect(await port(c, read)).toBe(pair.standby.port);
      // Created in a transaction that rolls back: gone with it.
      await c.query('BEGIN');
      await c.query('CREATE TEMP TABLE t (i int)');
      await c.query('ROLLBACK');
      expect(await port(c, read)).toBe(pair.standby.port);
      // Dropped in one that rolls back: still there.
      await c.query('CREATE TEMP TABLE t (i int)');
      await c.query('BEGIN');
      await c.query('DROP TABLE t');
      await c.query('ROLLBACK');
      expect(await port(c, read)).toBe(pair.primary.port);
      await c.query('DISCARD TEMP');
      expect(await port(c, read)).toBe(pair.standby.port);
    }, q);
    // Another session never sees this one's temporary tables.
    await withClient(async (c) => expect(await port(c, read)).toBe(pair.standby.port), q);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(/^pgpool_ts_catalog_lookups_total\{result="queried"\} (\d+)/m.exec(text)?.[1]).toBe('0');
    await q.stop();
  });

  it('relcache_query_target = load_balance_node asks the standby; with check_temp_table = catalog, the primary', async () => {
    const logOf = (node: { dataDir: string }) => fs.readFileSync(path.join(node.dataDir, 'server.log'), 'utf8');
    for (const [checkTemp, table, asked, notAsked] of [
      ['trace', 'relcache_probe_lb', pair.standby, pair.primary],
      ['catalog', 'relcache_probe_primary', pair.primary, pair.standby],
    ] as const) {
      const q = await startPooler(conf({ relcache_query_target: 'load_balance_node', check_temp_table: checkTemp }));
      await ready(q);
      await withClient(async (c) => {
        await c.query(`CREATE TABLE ${table} (i int)`);
        await standbyHas(pair, `SELECT to_regclass('${table}') IS NOT NULL`);
        // SET goes to both nodes: each logs what this session's connection runs there.
        await c.query("SET log_statement = 'all'");
        const read = `SELECT inet_server_port() AS port FROM ${table} RIGHT JOIN (SELECT 1) x ON true`;
        expect(await port(c, read)).toBe(pair.standby.port);
        await c.query("SET log_statement = 'none'");
        await c.query(`DROP TABLE ${table}`);
      }, q);
      const question = `pg_catalog.to_regclass('"${table}"')`;
      expect([logOf(asked).includes(question), logOf(notAsked).includes(question)]).toEqual([true, false]);
      await q.stop();
    }
  });

  it('a named prepared statement read on the standby is parsed again on the primary in a writing transaction', async () => {
    await withClient(async (c) => {
      const q = { name: 'where_am_i', text: 'SELECT inet_server_port() AS port' };
      expect((await c.query(q)).rows[0].port).toBe(pair.standby.port);
      expect((await c.query(q)).rows[0].port).toBe(pair.standby.port);
      await c.query('BEGIN');
      await c.query("INSERT INTO t (v) VALUES ('p')");
      expect((await c.query(q)).rows[0].port).toBe(pair.primary.port);
      await c.query('COMMIT');
      expect((await c.query(q)).rows[0].port).toBe(pair.standby.port);
    });
  });

  it('postgres.js (named statements by default): reads on the standby, a transaction’s reads after its write on the primary', async () => {
    const sql = postgres({ host: p.host, port: p.port, user: 'postgres', database: 'app', max: 1 });
    try {
      expect((await sql`SELECT inet_server_port() AS port`)[0].port).toBe(pair.standby.port);
      expect((await sql`SELECT inet_server_port() AS port, ${5}::int AS x`)[0]).toEqual({
        port: pair.standby.port,
        x: 5,
      });
      const inTx = await sql.begin(async (tx) => {
        await tx`INSERT INTO t (v) VALUES ('postgres.js')`;
        return (await tx`SELECT inet_server_port() AS port`)[0].port;
      });
      expect(inTx).toBe(pair.primary.port);
      expect((await sql`SELECT inet_server_port() AS port`)[0].port).toBe(pair.standby.port);
    } finally {
      await sql.end();
    }
  });

  it('psql: COPY FROM STDIN goes to the primary, COPY TO STDOUT to the standby', async () => {
    await psql(['-c', '\\copy t (v) from stdin'], 'copied 1\ncopied 2\n');
    const primary = await direct(pair.primary);
    expect((await primary.query("SELECT count(*)::int AS n FROM t WHERE v LIKE 'copied %'")).rows[0].n).toBe(2);
    await primary.end();
    expect((await psql(['-c', 'COPY (SELECT inet_server_port()) TO STDOUT'])).trim()).toBe(String(pair.standby.port));
  });

  it.each(['simple', 'extended', 'prepared'])('pgbench -S -M %s runs with no failed transaction', async (mode) => {
    const args = ['-h', p.host, '-p', String(p.port), '-U', 'postgres'];
    if (mode === 'simple') {
      await run('pgbench', [...args, '-i', '-s', '1', '-q', 'app'], { timeout: 60_000 });
      await standbyHas(pair, 'SELECT count(*) = 100000 FROM pgbench_accounts');
    }
    const { stdout } = await run('pgbench', [...args, '-S', '-M', mode, '-c', '2', '-j', '2', '-t', '200', 'app'], {
      timeout: 60_000,
    });
    expect(stdout).toMatch(/number of transactions actually processed: 400\/400/);
    expect(stdout).toMatch(/number of failed transactions: 0 /);
  });

  it('a cycle that waits on a Flush starts on the standby and moves to the primary for a write', async () => {
    const c = await rawConnect(p.port);
    c.send(startupPacket({ user: 'postgres', database: 'app' }));
    await c.ready();
    let at = c.received().length;
    // describe-first, as postgres.js does for a statement with parameters: Parse, Describe, Flush.
    c.send(
      Buffer.concat([
        serialize.parse({ name: 's1', text: 'SELECT inet_server_port()', types: [] }),
        serialize.describe({ type: 'S', name: 's1' }),
        serialize.flush(),
      ]),
    );
    await c.read(at + 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(messageTypes(c.received().subarray(at))).toBe('1tT');
    c.send(
      Buffer.concat([
        serialize.bind({ statement: 's1' }),
        serialize.execute({}),
        serialize.parse({ text: "INSERT INTO t (v) VALUES ('moved') RETURNING inet_server_port()", types: [] }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    const all = await readyAfter(c, at);
    expect(messageTypes(all.subarray(at))).toBe('1tT2DC12DCZ');
    expect(firstColumns(all, at)).toEqual([String(pair.standby.port), String(pair.primary.port)]);
    at = all.length;
    // s1 lives on the standby; a later cycle binds it there.
    c.send(Buffer.concat([serialize.bind({ statement: 's1' }), serialize.execute({}), serialize.sync()]));
    const again = await readyAfter(c, at);
    expect(firstColumns(again, at)).toEqual([String(pair.standby.port)]);
    c.send(serialize.end());
  });

  it('LISTEN runs on the primary and a notification reaches an idle routed session', async () => {
    await withClient(async (listener) => {
      const got = new Promise<pg.Notification>((r) => listener.on('notification', r));
      await listener.query('LISTEN lb_chan');
      // The listener reads on the standby in between: its session is routed over both nodes.
      expect(await port(listener)).toBe(pair.standby.port);
      await withClient((n) => n.query("NOTIFY lb_chan, 'hello'"));
      const msg = await got;
      expect([msg.channel, msg.payload]).toEqual(['lb_chan', 'hello']);
    });
  });

  it('SHOW pool_nodes marks the standby as the session’s load-balance node', async () => {
    const rows = await withClient(async (c) => (await c.query('SHOW pool_nodes')).rows);
    expect(rows.map((r) => r.load_balance_node)).toEqual(['true', 'false']);
  });

  it('/metrics counts request cycles by node, classifications and catalog lookups', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^pgpool_ts_routed_requests_total\{node="0"\} (\d+)/m)).toBeGreaterThan(100);
    expect(value(/^pgpool_ts_routed_requests_total\{node="1"\} (\d+)/m)).toBeGreaterThan(10);
    expect(value(/^pgpool_ts_statement_classifications_total\{result="cached"\} (\d+)/m)).toBeGreaterThan(100);
    expect(value(/^pgpool_ts_statement_classifications_total\{result="parsed"\} (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^pgpool_ts_catalog_lookups_total\{result="queried"\} (\d+)/m)).toBeGreaterThan(0);
    // The Grafana dashboard's unit test checks its queries against this scrape's names
    // (test/fixtures/metrics/cluster-scrape.prom): every name there must still be here.
    if (process.env.UPDATE_SCRAPE_FIXTURE) fs.writeFileSync(SCRAPE_FIXTURE, text);
    // prom-client's nodejs_* series come and go (event-loop lag only once measured); the dashboard uses none.
    const live = sampleNames(text);
    const fixture = [...sampleNames(fs.readFileSync(SCRAPE_FIXTURE, 'utf8'))].filter((n) => !n.startsWith('nodejs_'));
    expect(fixture.filter((n) => !live.has(n))).toEqual([]);
  });

  it.each([false, true])(
    'a standby behind delay_threshold gets no reads until it catches up (prefer_lower_delay_standby %s)',
    async (prefer) => {
      const q = await startPooler(conf({ delay_threshold: 1000, prefer_lower_delay_standby: prefer }));
      await ready(q);
      const standby = await direct(pair.standby);
      try {
        await withClient(async (c) => {
          expect(await port(c)).toBe(pair.standby.port);
          await standby.query('SELECT pg_wal_replay_pause()');
          await c.query("INSERT INTO t (v) SELECT repeat('d', 100) FROM generate_series(1, 500)");
          // The replication check (every second) finds it behind: reads go to the primary.
          await pollUntil(async () => (await port(c)) === pair.primary.port, 'reads off the lagging standby', 20_000);
          expect((await c.query('SHOW pool_nodes')).rows[0].replication_delay).toMatch(/^\d{4,}$/);
          // A session started now: the one standby is the least delayed, and still no read goes there.
          expect(await withClient((d) => port(d), q)).toBe(pair.primary.port);
          await standby.query('SELECT pg_wal_replay_resume()');
          await pollUntil(async () => (await port(c)) === pair.standby.port, 'reads back on the standby', 20_000);
        }, q);
      } finally {
        await standby.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
        await standby.end();
        await q.stop();
      }
    },
  );

  it('app_name_redirect_preference_list sends psql’s reads to the primary, other applications’ to the standby', async () => {
    const q = await startPooler(conf({ app_name_redirect_preference_list: 'psql:primary' }));
    await ready(q);
    const readAs = async (application_name: string) => {
      const c = new pg.Client({ ...q.client('postgres', 'app'), application_name });
      await c.connect();
      try {
        return await port(c);
      } finally {
        await c.end();
      }
    };
    expect(await readAs('psql')).toBe(pair.primary.port);
    expect(await readAs('reports')).toBe(pair.standby.port);
    await q.stop();
  });

  it('a 0-weight standby gets no reads', async () => {
    const q = await startPooler(conf({ backend_weight0: 0, backend_weight1: 1 }));
    await ready(q);
    expect(await withClient((c) => port(c), q)).toBe(pair.primary.port);
    await q.stop();
  });

  it('weights 1 : 3 give the standby about a quarter of 400 sessions, the primary the rest', async () => {
    const q = await startPooler(conf({ backend_weight0: 1, backend_weight1: 3 }));
    await ready(q);
    const served = new Map<number, number>();
    const session = async () => {
      const at = await withClient((c) => port(c), q);
      served.set(at, (served.get(at) ?? 0) + 1);
    };
    for (let i = 0; i < 200; i++) await Promise.all([session(), session()]);
    const standby = served.get(pair.standby.port) ?? 0;
    const primary = served.get(pair.primary.port) ?? 0;
    expect(standby + primary).toBe(400);
    // 100 expected; 60..140 is beyond ±4.5 standard deviations of the binomial (8.7).
    expect(standby).toBeGreaterThanOrEqual(60);
    expect(standby).toBeLessThanOrEqual(140);
    await q.stop();
  });
});
