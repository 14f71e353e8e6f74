// pool_mode = transaction against the real PostgreSQL with real drivers: more clients than
// children, so transactions really move between backend connections, and what a session
// set up (settings, prepared statements) is found on whichever connection it lands.
// Two children with one connection each: LIFO reuse makes the moves deterministic.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_REQUEST_CODE } from '../../src/protocol/codes.js';
import { connected } from '../helpers/clients.js';
import { messagesFrom, rawConnect, requestPacket, startupPacket } from '../helpers/raw.js';
import { freePort } from '../helpers/ports.js';
import { scrape } from '../helpers/scrape-names.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

let pooler: Pooler;
let metricsPort: number;
const open: pg.Client[] = [];

beforeAll(async () => {
  metricsPort = await freePort();
  pooler = await startPooler({
    metrics_port: metricsPort,
    metrics_listen_addresses: '127.0.0.1',
    pool_mode: 'transaction',
    num_init_children: 2,
    max_pool: 1,
    worker_processes: 1,
    log_connections: false,
    log_disconnections: false,
  });
});
afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.end().catch(() => {})));
  await stopAllPoolers();
});

async function client(): Promise<pg.Client> {
  const c = await connected(pooler.client('postgres', 'app'));
  open.push(c);
  return c;
}

const pid = async (c: pg.Client): Promise<number> => (await c.query('select pg_backend_pid() as p')).rows[0].p;

/**
 * Runs `first` on `a` while `blocker` holds the other connection in a transaction, then
 * `second` on `a` once the blocker committed: LIFO reuse puts it on the blocker's
 * connection. Returns both pids, which the caller expects to differ.
 */
async function moved<T>(
  a: pg.Client,
  blocker: pg.Client,
  first: () => Promise<void>,
  second: () => Promise<T>,
): Promise<{ before: number; after: number; result: T }> {
  await blocker.query('BEGIN');
  const held = await pid(blocker);
  await first();
  const before = await pid(a);
  await blocker.query('COMMIT');
  const after = await pid(a);
  const result = await second();
  expect(after).toBe(held);
  return { before, after, result };
}

describe('transaction pooling: session state follows the client', () => {
  it('carries SET search_path, TimeZone and a custom setting to another backend', async () => {
    const a = await client();
    const b = await client();
    const r = await moved(
      a,
      b,
      async () => {
        await a.query(`SET search_path = pg_catalog, public`);
        await a.query(`SET TimeZone = 'Asia/Tokyo'`);
        await a.query(`SET myapp.tenant = 'acme'`);
      },
      async () =>
        (
          await a.query(
            `select current_setting('search_path') sp, current_setting('TimeZone') tz, current_setting('myapp.tenant') t`,
          )
        ).rows[0],
    );
    expect(r.after).not.toBe(r.before);
    expect(r.result).toEqual({ sp: 'pg_catalog, public', tz: 'Asia/Tokyo', t: 'acme' });
    // The other client's session never saw them (a custom parameter, once defined on a
    // backend, stays defined there empty: PostgreSQL cannot forget a placeholder).
    const other = (await b.query(`select current_setting('TimeZone') tz, current_setting('myapp.tenant', true) t`))
      .rows[0];
    expect(other.tz).not.toMatch(/Tokyo/);
    expect([null, '']).toContain(other.t);
  });

  it('ends SET LOCAL with the transaction, and undoes a SET that was rolled back', async () => {
    const a = await client();
    await a.query('BEGIN');
    await a.query(`SET LOCAL work_mem = '7MB'`);
    expect((await a.query('show work_mem')).rows[0].work_mem).toBe('7MB');
    await a.query('COMMIT');
    await a.query('BEGIN');
    await a.query(`SET statement_timeout = '3s'`);
    await a.query('ROLLBACK');
    const r = (
      await a.query('select current_setting($1) wm, current_setting($2) st', ['work_mem', 'statement_timeout'])
    ).rows[0];
    expect(r).toEqual({ wm: '4MB', st: '0' });
  });

  it('keeps node-postgres named statements across backends', async () => {
    const a = await client();
    const b = await client();
    const q = { name: 'plus_one', text: 'select $1::int + 1 as v', values: [41] };
    const r = await moved(
      a,
      b,
      async () => {
        expect((await a.query(q)).rows[0].v).toBe(42);
      },
      async () => (await a.query({ ...q, values: [99] })).rows[0].v,
    );
    expect(r.after).not.toBe(r.before);
    expect(r.result).toBe(100);
  });

  it('keeps SQL PREPARE / EXECUTE across backends, and DEALLOCATE works', async () => {
    const a = await client();
    const b = await client();
    const r = await moved(
      a,
      b,
      async () => {
        await a.query('PREPARE twice(int) AS SELECT $1 * 2 AS v');
      },
      async () => (await a.query('EXECUTE twice(21)')).rows[0].v,
    );
    expect(r.after).not.toBe(r.before);
    expect(r.result).toBe(42);
    await a.query('DEALLOCATE twice');
    await expect(a.query('EXECUTE twice(1)')).rejects.toMatchObject({ code: '26000' });
    // The other client never had it.
    await expect(b.query('EXECUTE twice(1)')).rejects.toMatchObject({ code: '26000' });
  });

  it('serves postgres.js (named prepared statements by default) with more clients than children', async () => {
    const sql = postgres({ ...pooler.client('postgres', 'app'), max: 8, onnotice: () => {} });
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => sql`select ${i}::int * 3 as v, pg_backend_pid() as p`),
      );
      expect(results.map((r) => r[0].v)).toEqual(Array.from({ length: 40 }, (_, i) => i * 3));
      expect(new Set(results.map((r) => r[0].p)).size).toBe(2);
      const tx = await sql.begin(async (t) => [await t`select 1 as one`, await t`select 2 as two`]);
      expect(tx[1][0].two).toBe(2);
    } finally {
      await sql.end();
    }
  });
});

describe('transaction pooling: COPY', () => {
  it('copies in and out through transactions on shared connections', async () => {
    const sql = postgres({ ...pooler.client('postgres', 'app'), max: 4, onnotice: () => {} });
    try {
      await sql`CREATE TABLE IF NOT EXISTS tx_copy (id int, payload text)`;
      await sql`TRUNCATE tx_copy`;
      const lines = Array.from({ length: 5000 }, (_, i) => `${i}\trow ${i}\n`);
      const writable = await sql`COPY tx_copy (id, payload) FROM STDIN`.writable();
      await pipeline(Readable.from(lines), writable);
      expect((await sql`select count(*)::int n from tx_copy`)[0].n).toBe(5000);
      let bytes = 0;
      const readable = await sql`COPY tx_copy TO STDOUT`.readable();
      await pipeline(
        readable,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            bytes += chunk.length;
            cb();
          },
        }),
      );
      expect(bytes).toBe(lines.reduce((a, l) => a + l.length, 0));
    } finally {
      await sql.end();
    }
  });
});

describe('transaction pooling: state that pins', () => {
  it('delivers LISTEN/NOTIFY to a listener pinned to its backend', async () => {
    const listener = await client();
    const notifier = await client();
    await listener.query('LISTEN jobs');
    const heard = new Promise<pg.Notification>((r) => listener.once('notification', r));
    await notifier.query(`NOTIFY jobs, 'hello'`);
    expect((await heard).payload).toBe('hello');
    await pooler.waitForLog(/client pinned to its backend connection.*LISTEN|LISTEN.*client pinned/);
    expect((await scrape(metricsPort)).get('pgpool_ts_transaction_clients{state="pinned"}')).toBe(1);
    const processes = (await notifier.query('SHOW pool_processes')).rows as Array<{ pinned: string; status: string }>;
    expect(processes.map((r) => r.pinned).sort()).toEqual(['', 'LISTEN']);
    await listener.query('UNLISTEN *');
    expect((await scrape(metricsPort)).get('pgpool_ts_transaction_clients{state="pinned"}')).toBe(0);
  });

  it('keeps a temporary table visible to its own session only', async () => {
    const a = await client();
    const b = await client();
    await a.query('CREATE TEMP TABLE scratch(x int)');
    await a.query('INSERT INTO scratch VALUES (7)');
    await expect(b.query('select * from scratch')).rejects.toMatchObject({ code: '42P01' });
    expect((await a.query('select x from scratch')).rows).toEqual([{ x: 7 }]);
    await a.query('DROP TABLE scratch');
  });

  it('keeps a session advisory lock, and moves again once it is released', async () => {
    const a = await client();
    const b = await client();
    await a.query('select pg_advisory_lock(4242)');
    const pinned = await pid(a);
    expect((await b.query('select pg_try_advisory_lock(4242) as got')).rows[0].got).toBe(false);
    expect(await pid(a)).toBe(pinned);
    await a.query('select pg_advisory_unlock(4242)');
    expect((await b.query('select pg_try_advisory_lock(4242) as got')).rows[0].got).toBe(true);
    await b.query('select pg_advisory_unlock(4242)');
    const r = await moved(
      a,
      b,
      async () => {},
      async () => undefined,
    );
    expect(r.after).not.toBe(r.before);
  });
});

describe('transaction pooling: errors, cancel and departures', () => {
  it('recovers from an error mid-transaction', async () => {
    const a = await client();
    await a.query('BEGIN');
    await expect(a.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(a.query('select 1')).rejects.toMatchObject({ code: '25P02' });
    await a.query('ROLLBACK');
    expect((await a.query('select 5 as v')).rows[0].v).toBe(5);
  });

  it('cancels a running query on the backend its transaction runs on', async () => {
    const a = await client();
    const b = await client();
    // The key names the login's backend; the query runs on the other one.
    await b.query('BEGIN');
    const { processID, secretKey } = a as unknown as { processID: number; secretKey: number };
    const running = a.query('select pg_sleep(20)');
    await new Promise((r) => setTimeout(r, 300));
    const key = Buffer.alloc(8);
    key.writeInt32BE(processID, 0);
    key.writeInt32BE(secretKey, 4);
    const raw = await rawConnect(pooler.port);
    raw.send(requestPacket(CANCEL_REQUEST_CODE, key));
    const started = Date.now();
    await expect(running).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(10_000);
    await b.query('COMMIT');
    expect((await a.query('select 1 as v')).rows[0].v).toBe(1);
  });

  it('gives the child back when a client vanishes mid-transaction, and its work is rolled back', async () => {
    const setup = await client();
    await setup.query('CREATE TABLE IF NOT EXISTS vanish(x int)');
    const gone = await client();
    await gone.query('BEGIN');
    await gone.query('INSERT INTO vanish VALUES (1)');
    (gone as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    // Both children serve again: two transactions at once.
    const [x, y] = [await client(), await client()];
    await x.query('BEGIN');
    await y.query('BEGIN');
    expect((await y.query('select count(*)::int n from vanish')).rows[0].n).toBe(0);
    await x.query('COMMIT');
    await y.query('COMMIT');
  });
});

describe('transaction pooling: startup parameters', () => {
  let one: Pooler;
  beforeAll(async () => {
    // One child with one connection: clients share it or evict each other's.
    one = await startPooler({
      pool_mode: 'transaction',
      num_init_children: 1,
      max_pool: 1,
      worker_processes: 1,
      log_connections: false,
      log_disconnections: false,
    });
  });

  const as = async (extra: pg.ClientConfig) => {
    const c = await connected({ ...one.client('postgres', 'app'), ...extra });
    open.push(c);
    return c;
  };
  const view = async (c: pg.Client) =>
    (
      await c.query(
        `select pg_backend_pid() p, current_setting('application_name') a, current_setting('search_path') sp,
                (select application_name from pg_stat_activity where pid = pg_backend_pid()) seen`,
      )
    ).rows[0];

  it('shares one backend between clients whose application_name differs, each seeing its own', async () => {
    const alpha = await as({ application_name: 'alpha' });
    const beta = await as({ application_name: 'beta', options: '-c search_path=pg_catalog' });
    const [a, b, a2] = [await view(alpha), await view(beta), await view(alpha)];
    expect(b.p).toBe(a.p);
    expect(a2.p).toBe(a.p);
    expect([a.a, a.seen, b.a, b.seen, a2.a]).toEqual(['alpha', 'alpha', 'beta', 'beta', 'alpha']);
    expect(b.sp).toBe('pg_catalog');
    expect(a2.sp).toBe('"$user", public');
  });

  it('reports the startup values in the greeting and brings a RESET one back to it', async () => {
    const raw = await rawConnect(one.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app', application_name: 'gamma', TimeZone: 'Asia/Tokyo' }));
    const greeting = messagesFrom(await raw.ready());
    const status = new Map(
      greeting
        .filter(([t]) => t === 'S')
        .map(([, body]) => body.toString().split('\0').slice(0, 2) as [string, string]),
    );
    expect([status.get('application_name'), status.get('TimeZone')]).toEqual(['gamma', 'Asia/Tokyo']);
    raw.socket.destroy();
    const c = await as({ application_name: 'delta' });
    const heard: string[] = [];
    (c as unknown as { connection: pg.Connection }).connection.on(
      'parameterStatus',
      (m: { parameterName: string; parameterValue: string }) => {
        if (m.parameterName === 'application_name') heard.push(m.parameterValue);
      },
    );
    await c.query('SET application_name = other');
    await c.query('RESET application_name');
    // Told before the RESET's ReadyForQuery, as a direct connection tells it.
    expect(heard.at(-1)).toBe('delta');
    expect((await view(c)).a).toBe('delta');
    expect(heard.at(-1)).toBe('delta');
  });

  it('gives a client whose startup packet cannot be carried connections of its own', async () => {
    const plain = await as({});
    const own = await as({ options: '-c enable_seqscan=off' });
    const pPlain = (await view(plain)).p;
    const r = (await own.query(`select pg_backend_pid() p, current_setting('enable_seqscan') s`)).rows[0];
    expect(r.s).toBe('off');
    expect(r.p).not.toBe(pPlain);
  });
});
