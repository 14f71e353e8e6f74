// pool_mode = transaction: its limits and policies (max_client_conn, query_wait_timeout,
// pin_policy = error), the extended protocol as pgJDBC drives it after prepareThreshold,
// psql's PREPARE/EXECUTE, pgbench -M prepared with more clients than children, and what
// SHOW reports, against the real PostgreSQL.
import { spawn, execFileSync } from 'node:child_process';
import { inject } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connected, connectError } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { closeRawConnections, rawConnect, startupPacket, type RawConn } from '../helpers/raw.js';
import { messagesFrom } from '../helpers/raw.js';
import { USERS } from './global-setup.js';

const open: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
  closeRawConnections();
});
afterAll(stopAllPoolers);

const TX = { pool_mode: 'transaction', worker_processes: 1, log_connections: false, log_disconnections: false };

async function client(p: Pooler): Promise<pg.Client> {
  const c = await connected(p.client('postgres', 'app'));
  open.push(c);
  return c;
}

describe('transaction pooling limits', () => {
  it('admits max_client_conn clients and refuses the next with 53300', async () => {
    const p = await startPooler({ ...TX, num_init_children: 1, max_pool: 1, max_client_conn: 3 });
    for (let i = 0; i < 3; i++) await client(p);
    const e = await connectError(p.client('postgres', 'app'));
    expect(e).toMatchObject({ code: '53300', message: 'Sorry, too many clients already' });
    // Three clients on one child: each runs its transactions in turn.
    const rows = await Promise.all(open.map(async (c) => (await c.query('select 1 as v')).rows[0].v));
    expect(rows).toEqual([1, 1, 1]);
  });

  it('admits max_client_conn clients over two workers however the kernel spreads them, then 53300', async () => {
    const max = 16;
    const p = await startPooler({
      ...TX,
      worker_processes: 2,
      num_init_children: 2,
      max_pool: 1,
      max_client_conn: max,
    });
    // All at once: the kernel rarely splits them 8 / 8; whichever worker accepts more than its
    // share hands the rest to the supervisor, which places them on the other (or on either,
    // while the workers are not yet listening at start).
    await Promise.all(Array.from({ length: max }, () => client(p)));
    const e = await connectError(p.client('postgres', 'app'));
    expect(e).toMatchObject({
      code: '53300',
      message: 'Sorry, too many clients already',
      detail: `${max} clients are connected, as many as max_client_conn allows`,
    });
    const rows = await Promise.all(open.map(async (c) => (await c.query('select 1 as v')).rows[0].v));
    expect(rows).toEqual(Array(max).fill(1));
    // One leaves: its place is free again at once, on whichever worker it was. The workers'
    // counts reach the supervisor batched, but a worker's room again goes at once, so a
    // newcomer that lands on the full worker is placed on the other, not refused.
    for (let i = 0; i < 10; i++) {
      await open.shift()!.end();
      await client(p);
    }
    expect(open).toHaveLength(max);
  });

  it('ends a client that waited query_wait_timeout for a child with a FATAL naming it', async () => {
    const p = await startPooler({ ...TX, num_init_children: 1, max_pool: 1, query_wait_timeout: 1 });
    const holder = await client(p);
    const waiter = await client(p);
    await holder.query('BEGIN');
    const t0 = Date.now();
    await expect(waiter.query('select 1')).rejects.toMatchObject({
      code: '57014',
      message: 'no child became free for the transaction within query_wait_timeout (1 s)',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await holder.query('COMMIT');
  });

  it('reads a waiting client up to a bound, then lets TCP hold the rest, and serves it whole', async () => {
    const p = await startPooler({ ...TX, num_init_children: 1, max_pool: 1 });
    const holder = await client(p);
    const waiter = await client(p);
    await holder.query('BEGIN');
    // Over 256 KB in one query, sent while the only child is taken.
    const big = 'x'.repeat(600_000);
    const answer = waiter.query(`select length('${big}') as n, 'done' as d`);
    await new Promise((r) => setTimeout(r, 300));
    await holder.query('COMMIT');
    expect((await answer).rows[0]).toEqual({ n: 600_000, d: 'done' });
  });

  it('refuses LISTEN with 0A000 under pin_policy = error, and undoes it', async () => {
    const p = await startPooler({ ...TX, num_init_children: 2, max_pool: 1, pin_policy: 'error' });
    const a = await client(p);
    await expect(a.query('LISTEN jobs')).rejects.toMatchObject({
      code: '0A000',
      message: 'LISTEN is not supported in transaction pooling mode',
    });
    await expect(a.query(`select pg_advisory_lock(9)`)).rejects.toMatchObject({
      code: '0A000',
      message: 'session advisory locks is not supported in transaction pooling mode',
    });
    // Undone: no session holds the lock, and the backend a's LISTEN ran on listens to nothing.
    const b = await client(p);
    expect((await b.query(`select count(*)::int n from pg_locks where locktype = 'advisory'`)).rows[0].n).toBe(0);
    await b.query('BEGIN');
    await a.query('BEGIN');
    const listening = await Promise.all(
      [a, b].map(async (c) => (await c.query('select count(*)::int n from pg_listening_channels()')).rows[0].n),
    );
    expect(listening).toEqual([0, 0]);
    await a.query('COMMIT');
    await b.query('COMMIT');
  });
});

/** psql reading commands from a pipe; step() writes one and waits for its output. */
function interactivePsql(p: Pooler): {
  step(sql: string, want: RegExp): Promise<RegExpMatchArray>;
  end(): Promise<void>;
} {
  const args = ['-h', p.host, '-p', String(p.port), '-U', 'postgres', '-d', 'app', '-At', '-v', 'ON_ERROR_STOP=1'];
  const psql = spawn('psql', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  psql.stdout.on('data', (b: Buffer) => (out += b.toString()));
  psql.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise((r) => psql.once('exit', r));
  return {
    async step(sql, want) {
      const from = out.length;
      psql.stdin.write(sql + '\n');
      const t0 = Date.now();
      for (;;) {
        const m = out.slice(from).match(want);
        if (m) return m;
        if (Date.now() - t0 > 10_000) throw new Error(`psql did not print ${want} for ${sql}: ${out.slice(from)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async end() {
      psql.stdin.end();
      await exited;
    },
  };
}

/** A DataRow's text columns. */
function columns(body: Buffer): string[] {
  const out: string[] = [];
  let i = 2;
  for (let c = 0; c < body.readInt16BE(0); c++) {
    const len = body.readInt32BE(i);
    out.push(body.toString('utf8', i + 4, i + 4 + len));
    i += 4 + len;
  }
  return out;
}

/** Sends messages and collects the replies up to the ReadyForQuery of each Sync and Query. */
async function roundTrip(raw: RawConn, ...msgs: Buffer[]): Promise<Array<{ type: string; body: Buffer }>> {
  const before = raw.received().length;
  const readies = msgs.filter((m) => (m[0] === 0x53 && m.length === 5) || m[0] === 0x51).length;
  raw.send(Buffer.concat(msgs));
  for (;;) {
    const all = messagesFrom(raw.received().subarray(before)).map(([type, body]) => ({ type, body }));
    if (all.filter((m) => m.type === 'Z').length >= readies) return all;
    await raw.read(raw.received().length + 1, 10_000);
  }
}

describe('transaction pooling keeps the session-wide settings', () => {
  it('ends a client idle between transactions past client_idle_limit, and logs connections and statements', async () => {
    const p = await startPooler({
      ...TX,
      num_init_children: 1,
      max_pool: 1,
      client_idle_limit: 1,
      log_statement: true,
      log_connections: true,
    });
    const a = await client(p);
    await p.waitForLog(/new connection received/);
    expect((await a.query('select 42 as v')).rows[0].v).toBe(42);
    await p.waitForLog(/statement: select 42 as v/);
    const ended = new Promise<Error>((r) => a.once('error', r));
    a.on('error', () => {});
    const e = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(r, 5000))]);
    expect(e).toMatchObject({ code: '57000', message: 'unable to read data' });
    // Its child was free all along: another client is served at once.
    const b = await client(p);
    expect((await b.query('select 1 as v')).rows[0].v).toBe(1);
  });
});

describe('transaction pooling and authentication', () => {
  it('authenticates against pool_passwd, opens later connections itself, and refuses a wrong password with idle connections there', async () => {
    const u = USERS.scram;
    const p = await startPooler(
      { ...TX, num_init_children: 2, max_pool: 1, pool_passwd: 'pool_passwd' },
      { pool_passwd: `${u.name}:TEXT${u.password}\n` },
    );
    const cfg = { ...p.client(u.name, 'app'), password: u.password };
    const [a, b, c] = await Promise.all([connected(cfg), connected(cfg), connected(cfg)]);
    open.push(a, b, c);
    // Two transactions at once: the second needs a connection the pooler opens with the stored password.
    await a.query('BEGIN');
    await b.query('BEGIN');
    const pids = await Promise.all([a, b].map(async (x) => (await x.query('select pg_backend_pid() p')).rows[0].p));
    expect(new Set(pids).size).toBe(2);
    await a.query('COMMIT');
    await b.query('COMMIT');
    expect((await c.query('select current_user u')).rows[0].u).toBe(u.name);
    const wrong = await connectError({ ...cfg, password: 'wrong' });
    expect(wrong).toMatchObject({ code: '28P01', message: 'authentication failed' });
  });
});

describe('transaction pooling and drivers', () => {
  it('runs pgJDBC-style named statements (Parse once, Bind/Execute many) across backends', async () => {
    const p = await startPooler({ ...TX, num_init_children: 2, max_pool: 1 });
    // The blocker sends the same startup packet: the two share connections.
    const [raw, blocker] = await Promise.all([rawConnect(p.port), rawConnect(p.port)]);
    for (const r of [raw, blocker]) {
      r.send(startupPacket({ user: 'postgres', database: 'app' }));
      await r.ready();
    }
    const parse = serialize.parse({ name: 'S_1', text: 'select $1::int * 10 as v, pg_backend_pid() as p', types: [] });
    const exec = () => [
      serialize.bind({ statement: 'S_1', values: ['4'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    ];
    const first = await roundTrip(
      raw,
      parse,
      serialize.describe({ type: 'S', name: 'S_1' }),
      serialize.sync(),
      ...exec().slice(0, 3),
      serialize.sync(),
    );
    expect(first.map((m) => m.type).join('')).toBe('1tTZ2TDCZ');
    await roundTrip(blocker, serialize.query('BEGIN'));
    const pids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await roundTrip(raw, ...exec());
      expect(r.map((m) => m.type).join('')).toBe('2TDCZ');
      const [v, backend] = columns(r.find((m) => m.type === 'D')!.body);
      expect(v).toBe('40');
      pids.push(backend);
      if (i === 0) await roundTrip(blocker, serialize.query('COMMIT'));
    }
    // The first ran beside the blocker's transaction, the next on the blocker's connection.
    expect(pids[1]).not.toBe(pids[0]);
    // Close is the client's own: the statement is gone for it.
    const closed = await roundTrip(raw, serialize.close({ type: 'S', name: 'S_1' }), serialize.sync());
    expect(closed.map((m) => m.type).join('')).toBe('3Z');
    const missing = await roundTrip(raw, ...exec());
    expect(missing.map((m) => m.type).join('')).toBe('EZ');
    expect(missing[0].body.toString()).toContain('prepared statement "S_1" does not exist');
    // Redefining a live name fails as PostgreSQL says.
    await roundTrip(raw, parse, serialize.sync());
    const again = await roundTrip(raw, parse, serialize.sync());
    expect(again[0].body.toString()).toContain('prepared statement "S_1" already exists');
  });

  it('runs psql PREPARE and EXECUTE on whichever backend', async () => {
    const p = await startPooler({ ...TX, num_init_children: 2, max_pool: 1 });
    // Both psql: the same startup packet, so they share the connections.
    const a = interactivePsql(p);
    const blocker = interactivePsql(p);
    try {
      await a.step('PREPARE sq(int) AS SELECT $1 * $1 AS sq;', /PREPARE/);
      await blocker.step('BEGIN;', /BEGIN/);
      const held = (await blocker.step(`SELECT 'held:' || pg_backend_pid();`, /held:(\d+)/))[1];
      const before = (await a.step(`SELECT 'pid1:' || pg_backend_pid();`, /pid1:(\d+)/))[1];
      await blocker.step('COMMIT;', /COMMIT/);
      const after = (await a.step(`SELECT 'pid2:' || pg_backend_pid();`, /pid2:(\d+)/))[1];
      await a.step('EXECUTE sq(12);', /^144$/m);
      expect(after).toBe(held);
      expect(before).not.toBe(held);
    } finally {
      await Promise.all([a.end(), blocker.end()]);
    }
  });

  it('runs pgbench -M prepared with more clients than children, no transaction failed', async () => {
    const pgInfo = inject('pg');
    execFileSync(
      'pgbench',
      ['-i', '-q', '-s', '1', '-h', pgInfo.host, '-p', String(pgInfo.port), '-U', 'postgres', 'app'],
      {
        stdio: 'ignore',
      },
    );
    const p = await startPooler({ ...TX, num_init_children: 2, max_pool: 1 });
    const out = execFileSync(
      'pgbench',
      [
        '-n',
        '-S',
        '-M',
        'prepared',
        '-c',
        '12',
        '-j',
        '2',
        '-t',
        '100',
        '-h',
        p.host,
        '-p',
        String(p.port),
        '-U',
        'postgres',
        'app',
      ],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/number of transactions actually processed: 1200\/1200/);
    expect(out).toMatch(/number of failed transactions: 0 /);
    const c = await client(p);
    // Two children: at most two backend connections served twelve clients.
    const backends = (
      await c.query(
        `select count(*)::int n from pg_stat_activity where datname = 'app' and application_name = 'pgbench'`,
      )
    ).rows[0].n;
    expect(backends).toBeLessThanOrEqual(2);
  });

  it('shows in SHOW pool_processes the child a transaction holds, and none for idle clients', async () => {
    const p = await startPooler({ ...TX, num_init_children: 2, max_pool: 1 });
    const a = await client(p);
    const idle = await client(p);
    await idle.query('select 1');
    await a.query('BEGIN');
    const viewer = await client(p);
    const rows = (await viewer.query('SHOW pool_processes')).rows as Array<{ status: string; backend_pid: string }>;
    expect(rows.map((r) => r.status).sort()).toEqual(['Idle in transaction', 'Wait for connection']);
    // Inside its transaction too, SHOW is the pooler's, not PostgreSQL's.
    expect((await a.query('SHOW pool_processes')).rows).toHaveLength(2);
    await a.query('COMMIT');
  });
});
