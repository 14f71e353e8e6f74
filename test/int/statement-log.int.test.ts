// log_statement, log_per_node_statement, log_client_messages and PGPOOL SHOW/SET/RESET,
// with real clients; query and transaction durations on /metrics.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CURRENT_PARAMS } from '../../src/config/schema.js';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { closeRawConnections, messagesFrom, rawConnect, startupPacket } from '../helpers/raw.js';
import { query } from '../helpers/socket-pair.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

afterAll(async () => {
  closeRawConnections();
  await stopAllPoolers();
});

/** The JSON log lines (one pooler's stderr) whose msg matches. */
function lines(p: Pooler, re: RegExp): Record<string, unknown>[] {
  return p
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => re.test(String(r.msg)));
}

async function pgError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('statement and message logging', () => {
  it('log_statement, log_per_node_statement and log_client_messages log what the client sent, with its identity and backend pid', async () => {
    const p = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      log_statement: true,
      log_per_node_statement: true,
      log_client_messages: true,
      log_format: 'json',
    });
    const c = new pg.Client({ ...p.client(), application_name: 'stmt' });
    await c.connect();
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    await c.query('SELECT 42 AS simple');
    await c.query({ text: 'SELECT $1::int AS extended', values: [7], name: 'prep1' });
    await c.query({ text: 'SELECT $1::int AS extended', values: [8], name: 'prep1' });
    await c.end();
    await p.waitForLog(/Terminate message from frontend/);

    const stmts = lines(p, /^statement: /).map((r) => r.msg);
    expect(stmts).toEqual([
      'statement: SELECT pg_backend_pid() AS pid',
      'statement: SELECT 42 AS simple',
      'statement: SELECT $1::int AS extended',
      'statement: SELECT $1::int AS extended',
    ]);
    const q = lines(p, /^statement: SELECT 42/)[0];
    expect(q).toMatchObject({ user: p.client().user, database: p.client().database, backendPid: pid });
    expect(String(q.client)).toMatch(/^127\.0\.0\.1:\d+$/);

    const perNode = lines(p, /^DB node id: /).map((r) => r.msg);
    expect(perNode).toContain(`DB node id: 0 backend pid: ${pid} statement: SELECT 42 AS simple`);
    expect(perNode).toContain(`DB node id: 0 backend pid: ${pid} statement: Parse: SELECT $1::int AS extended`);
    expect(
      perNode.filter((m) => m === `DB node id: 0 backend pid: ${pid} statement: Execute: SELECT $1::int AS extended`),
    ).toHaveLength(2);
    // The reset before caching goes to the node too (reset_query_list's default; ABORT is skipped outside a transaction).
    await p.waitForLog(/statement: DISCARD ALL/);
    expect(
      lines(p, /^DB node id: /)
        .map((r) => r.msg)
        .slice(-1),
    ).toEqual([`DB node id: 0 backend pid: ${pid} statement: DISCARD ALL`]);

    const msgs = lines(p, /message from frontend\.$/).map((r) => `${r.msg} ${r.detail ?? ''}`.trim());
    expect(msgs).toContain('Query message from frontend. query: "SELECT 42 AS simple"');
    expect(msgs).toContain('Parse message from frontend. statement: "prep1", query: "SELECT $1::int AS extended"');
    expect(msgs).toContain('Bind message from frontend. portal: "", statement: "prep1"');
    expect(msgs).toContain('Execute message from frontend. portal: ""');
    expect(msgs).toContain('Sync message from frontend.');
    expect(msgs[msgs.length - 1]).toBe('Terminate message from frontend.');
    await p.stop();
  });

  it('notice_per_node_statement: psql prints where each statement went; PGPOOL SET turns it on for a session', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, notice_per_node_statement: true });
    const psql = (sql: string) =>
      promisify(execFile)(
        'psql',
        ['-h', p.host, '-p', String(p.port), '-U', p.client().user, '-d', p.client().database, '-Atc', sql],
        {
          env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
        },
      );
    const { stdout, stderr } = await psql("SELECT 'noticed' AS x");
    expect(stdout.trim()).toBe('noticed');
    expect(stderr.trim()).toBe("NOTICE:  DB node id: 0 statement: SELECT 'noticed' AS x");
    // The pooler answers its own commands: they went to no node.
    const show = await psql('PGPOOL SHOW notice_per_node_statement');
    expect([show.stdout.trim(), show.stderr]).toEqual(['on', '']);
    await p.stop();

    const q = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const c = new pg.Client(q.client());
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(`${n.severity} ${n.message}`));
    await c.connect();
    await c.query('SELECT 1');
    await c.query('PGPOOL SET notice_per_node_statement = on');
    await c.query('SELECT 2');
    // client_min_messages = log: pgpool sends the client its LOG lines too.
    await c.query('PGPOOL SET client_min_messages = log');
    await c.query('PGPOOL SET log_statement = on');
    await c.query('SELECT 3');
    await c.end();
    expect(notices).toEqual([
      'NOTICE DB node id: 0 statement: SELECT 2',
      'LOG statement: SELECT 3',
      'NOTICE DB node id: 0 statement: SELECT 3',
    ]);
    await q.stop();
  });

  it('a notice for a query pipelined behind a reply still streaming waits for a message boundary', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, notice_per_node_statement: true });
    const raw = await rawConnect(p.port);
    raw.send(startupPacket({ user: p.client().user, database: p.client().database }));
    const greeting = (await raw.ready()).length;
    // 40 rows of 200 kB: the reply reaches the client in many chunks, most ending mid-row.
    raw.send(query("SELECT repeat('x', 200000) AS big FROM generate_series(1, 40)"));
    await raw.read(greeting + 1_000_000);
    raw.send(query("SELECT 'second' AS s"));
    const readies = () => messagesFrom(raw.received(), greeting).filter(([t]) => t === 'Z').length;
    await pollUntil(() => readies() === 2, 'both replies', 20_000);
    const all = raw.received();
    const messages = messagesFrom(all, greeting);
    // Every byte after the greeting frames into whole messages of the kinds a query's reply has.
    expect(messages.reduce((n, [, body]) => n + 5 + body.length, greeting)).toBe(all.length);
    expect(new Set(messages.map(([t]) => t))).toEqual(new Set(['N', 'T', 'D', 'C', 'Z']));
    expect(messages.filter(([t]) => t === 'D')).toHaveLength(41);
    const notices = messages.filter(([t]) => t === 'N').map(([, body]) => body.toString('utf8'));
    expect(notices).toHaveLength(2);
    expect(notices[1]).toContain("MDB node id: 0 statement: SELECT 'second' AS s");
    await p.stop();
  });

  it.each(['session', 'transaction'])(
    '%s mode: postgres.js pipelining big replies on one connection gets each whole, with its notices',
    async (mode) => {
      const p = await startPooler({
        pool_mode: mode,
        num_init_children: 2,
        worker_processes: 1,
        notice_per_node_statement: true,
      });
      const notices: string[] = [];
      const sql = postgres({ ...p.client(), max: 1, onnotice: (n) => notices.push(n.message) });
      try {
        const runs = await Promise.all(
          Array.from(
            { length: 8 },
            (_, i) => sql`SELECT ${i}::int AS i, repeat('z', 150000) AS big FROM generate_series(1, 10)`,
          ),
        );
        runs.forEach((rows, i) => {
          expect(rows).toHaveLength(10);
          expect(rows.every((r) => r.i === i && r.big.length === 150000)).toBe(true);
        });
        expect(notices.filter((n) => n.startsWith('DB node id: 0 statement: Execute: SELECT $1::int'))).toHaveLength(8);
      } finally {
        await sql.end();
      }
      await p.stop();
    },
  );

  it('transaction mode: the per-node lines and notices name the connection each transaction ran on', async () => {
    const p = await startPooler({
      pool_mode: 'transaction',
      num_init_children: 2,
      max_pool: 1,
      worker_processes: 1,
      log_format: 'json',
    });
    const [a, b] = [new pg.Client(p.client()), new pg.Client(p.client())];
    await Promise.all([a.connect(), b.connect()]);
    const notices: string[] = [];
    a.on('notice', (n) => notices.push(n.message ?? ''));
    // Between transactions: no connection is held, and the SET takes effect all the same.
    await a.query('PGPOOL SET log_per_node_statement = on');
    await a.query('PGPOOL SET notice_per_node_statement = on');
    await a.query('PGPOOL SET log_backend_messages = verbose');
    const pids: number[] = [];
    for (let i = 0; i < 6; i++) {
      // b holds a transaction every other turn, so a's transactions land on both connections.
      if (i % 2 === 1) await b.query('BEGIN');
      pids.push((await a.query(`SELECT pg_backend_pid() AS pid, ${i} AS turn`)).rows[0].pid as number);
      if (i % 2 === 1) await b.query('COMMIT');
    }
    await Promise.all([a.end(), b.end()]);
    expect(new Set(pids).size).toBe(2);
    expect(notices).toEqual(
      pids.map((_, i) => `DB node id: 0 statement: SELECT pg_backend_pid() AS pid, ${i} AS turn`),
    );
    await p.waitForLog(/5 AS turn/);
    const logged = lines(p, /^DB node id: 0 backend pid: \d+ statement: SELECT pg_backend_pid/).map((r) => r.msg);
    expect(logged).toEqual(
      pids.map((pid, i) => `DB node id: 0 backend pid: ${pid} statement: SELECT pg_backend_pid() AS pid, ${i} AS turn`),
    );
    // The pid is in the text, not in a field bound to the connection the session logged in on.
    const fields = lines(p, /^DB node id: 0 backend pid: \d+ statement: SELECT pg_backend_pid/);
    expect(fields.map((r) => [r.backendPid, r.user])).toEqual(pids.map(() => [undefined, p.client().user]));
    // Each of a's six transactions: a row description, a row, the tag and ReadyForQuery (b's are not logged).
    const backend = lines(p, / message from backend 0$/).map((r) => r.msg);
    expect(backend.filter((m) => m === 'DataRow message from backend 0')).toHaveLength(6);
    expect(backend.slice(0, 4)).toEqual([
      'RowDescription message from backend 0',
      'DataRow message from backend 0',
      'CommandComplete message from backend 0',
      'ReadyForQuery message from backend 0',
    ]);
    await p.stop();
  });

  it('log_backend_messages: verbose logs each message from the backend, terse folds repeats', async () => {
    // failover_on_backend_shutdown watches the same messages: both see them.
    const p = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      log_backend_messages: 'verbose',
      failover_on_backend_shutdown: true,
      log_format: 'json',
    });
    const c = new pg.Client(p.client());
    await c.connect();
    await c.query('SELECT 1');
    await c.query('PGPOOL SET log_backend_messages = terse');
    await c.query('SELECT generate_series(1, 5)');
    await c.query('PGPOOL SET log_backend_messages = none');
    await c.query('SELECT 2');
    await c.end();
    await p.waitForLog(/frontend disconnection/);
    expect(lines(p, /message from backend 0|repeated/).map((r) => r.msg)).toEqual([
      'RowDescription message from backend 0',
      'DataRow message from backend 0',
      'CommandComplete message from backend 0',
      'ReadyForQuery message from backend 0',
      'RowDescription message from backend 0',
      'DataRow message from backend 0',
      'last DataRow message from backend 0 repeated 4 times',
      'CommandComplete message from backend 0',
      'ReadyForQuery message from backend 0',
    ]);
    await p.stop();
  });

  it('PGPOOL SET turns logging on for its own session only; RESET and a new client go back to the configuration', async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 1, log_format: 'json' });
    const a = new pg.Client(p.client());
    const b = new pg.Client(p.client());
    await a.connect();
    await b.connect();
    expect((await a.query('PGPOOL SHOW log_statement')).rows).toEqual([{ log_statement: 'off' }]);
    const set = await a.query('PGPOOL SET log_statement = on');
    expect(set.command).toBe('SET');
    expect((await a.query('PGPOOL SHOW log_statement')).rows).toEqual([{ log_statement: 'on' }]);
    expect((await b.query('PGPOOL SHOW log_statement')).rows).toEqual([{ log_statement: 'off' }]);
    await a.query("SELECT 'from a' AS x");
    await b.query("SELECT 'from b' AS x");
    await a.query('PGPOOL RESET log_statement');
    await a.query("SELECT 'after reset' AS x");
    await a.query('PGPOOL SET log_statement TO true');
    await a.end();
    const c = new pg.Client(p.client());
    await c.connect();
    expect((await c.query('PGPOOL SHOW log_statement')).rows).toEqual([{ log_statement: 'off' }]);
    await c.query("SELECT 'from c' AS x");
    await Promise.all([b.end(), c.end()]);
    await p.waitForLog(/frontend disconnection/);
    // From the statement after the SET up to the RESET itself: nothing of b's or c's.
    expect(lines(p, /^statement: /).map((r) => r.msg)).toEqual([
      'statement: PGPOOL SHOW log_statement',
      "statement: SELECT 'from a' AS x",
      'statement: PGPOOL RESET log_statement',
    ]);
    await p.stop();
  });

  it("PGPOOL SET log_error_verbosity = terse drops DETAIL from that session's lines only", async () => {
    const p = await startPooler({
      num_init_children: 2,
      worker_processes: 1,
      log_client_messages: true,
      log_format: 'json',
    });
    const a = new pg.Client(p.client());
    const b = new pg.Client(p.client());
    await a.connect();
    await b.connect();
    await a.query('PGPOOL SET log_error_verbosity = terse');
    await a.query("SELECT 'a' AS x");
    await b.query("SELECT 'b' AS x");
    await Promise.all([a.end(), b.end()]);
    await p.waitForLog(/frontend disconnection/);
    const queries = lines(p, /^Query message from frontend\.$/).map((r) => r.detail);
    expect(queries).toContain('query: "SELECT \'b\' AS x"');
    expect(queries).not.toContain('query: "SELECT \'a\' AS x"');
    expect(
      lines(p, /^Query message from frontend\.$/).filter((r) => r.errorVerbosity === 'terse' && r.detail === undefined),
    ).toHaveLength(1);
    await p.stop();
  });

  it('PGPOOL SHOW ALL and SHOW name use configuration notation and hide passwords; bad commands get PostgreSQL errors and the session goes on', async () => {
    const p = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      health_check_password: 'sekrit',
      log_rotation_age: 1440,
      client_idle_limit: 300,
    });
    const c = new pg.Client(p.client());
    await c.connect();
    const all = await c.query('PGPOOL SHOW ALL');
    expect(all.fields.map((f) => f.name)).toEqual(['item', 'value', 'description']);
    const byItem = new Map(all.rows.map((r) => [r.item as string, r.value as string]));
    expect(byItem.get('num_init_children')).toBe('1');
    expect(byItem.get('log_rotation_age')).toBe('1d');
    expect(byItem.get('client_idle_limit')).toBe('5min');
    expect(byItem.get('health_check_password')).toBe('*****');
    expect(byItem.get('connection_cache')).toBe('on');
    expect(byItem.get('backend_port0')).toBe(String(inject('pg').port));
    expect(byItem.get('backend_hostname0')).toBeTruthy();
    const items = all.rows.map((r) => r.item as string);
    expect(new Set(items).size).toBe(items.length);
    const scalars = CURRENT_PARAMS.filter((d) => d.maxIndex < 0).map((d) => d.name);
    expect(scalars.filter((n) => !byItem.has(n))).toEqual([]);
    expect((await c.query('PGPOOL SHOW backend_hostname0')).rows[0].backend_hostname0).toBe(
      byItem.get('backend_hostname0'),
    );
    expect((await c.query('pgpool show LOG_ROTATION_SIZE;')).rows).toEqual([{ log_rotation_size: '10MB' }]);

    expect(await pgError(c.query('PGPOOL SET num_init_children = 5'))).toMatchObject({
      code: '55P02',
      message: 'parameter "num_init_children" cannot be changed in a session',
    });
    expect(await pgError(c.query('PGPOOL SET no_such_thing = 1'))).toMatchObject({
      code: '42704',
      message: 'unrecognized configuration parameter "no_such_thing"',
    });
    expect(await pgError(c.query("PGPOOL SET log_statement = 'maybe'"))).toMatchObject({
      code: '22023',
      message: 'invalid value for parameter "log_statement": "maybe"',
    });
    expect(await pgError(c.query('PGPOOL SHOW no_such_thing'))).toMatchObject({ code: '42704' });
    expect(await pgError(c.query('PGPOOL FROB'))).toMatchObject({
      code: '42601',
      message: 'syntax error at or near "FROB"',
    });
    // Through the extended protocol PGPOOL is PostgreSQL's business (a syntax error there).
    expect(await pgError(c.query({ text: 'PGPOOL SHOW ALL', name: 'extended' }))).toMatchObject({ code: '42601' });
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
    await p.stop();
  });

  it("PGPOOL SET client_idle_limit ends that idle session with pgpool's error", async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 1 });
    const c = new pg.Client(p.client());
    const ended = new Promise<Error>((r) => c.on('error', r));
    await c.connect();
    await c.query('PGPOOL SET client_idle_limit = 1');
    const err = (await ended) as Error & { code?: string; detail?: string };
    expect(err).toMatchObject({
      code: '57000',
      message: 'unable to read data',
      detail: 'child connection forced to terminate due to client_idle_limit:1 is reached',
    });
    await c.end().catch(() => {});
    await p.stop();
  });
});

describe('query and transaction durations on /metrics', () => {
  it('count every request and transaction per database', async () => {
    const port = await freePort();
    const p = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      metrics_port: port,
      metrics_listen_addresses: '127.0.0.1',
    });
    const c = new pg.Client(p.client());
    await c.connect();
    for (let i = 0; i < 5; i++) await c.query('SELECT 1');
    await c.query('BEGIN');
    await c.query('SELECT pg_sleep(0.05)');
    await c.query('COMMIT');
    await c.query({ text: 'SELECT $1::int', values: [1] });
    await c.end();
    const db = p.client().database;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    // 5 + 3 + 1 requests; 5 + 1 + 1 transactions (an autocommit statement is one).
    expect(value(`pgpool_ts_query_duration_seconds_count\\{database="${db}"\\}`)).toBe(9);
    expect(value(`pgpool_ts_transaction_duration_seconds_count\\{database="${db}"\\}`)).toBe(7);
    expect(value(`pgpool_ts_transaction_duration_seconds_bucket\\{database="${db}",le="0.025"\\}`)).toBe(6);
    expect(value(`pgpool_ts_query_duration_seconds_bucket\\{database="${db}",le="\\+Inf"\\}`)).toBe(9);
    expect(value(`pgpool_ts_transaction_duration_seconds_sum\\{database="${db}"\\}`)).toBeGreaterThan(0.05);
    await p.stop();
  });
});
