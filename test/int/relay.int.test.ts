// Everything clients do goes through the relay unchanged: pipelining, named prepared
// statements, COPY both ways, cursors, 10 MB rows, LISTEN/NOTIFY, an error inside a
// pipeline, psql and pgbench in every protocol mode.
import { execFile, spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

const run = promisify(execFile);
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

let pooler: Pooler;
let sql: postgres.Sql;
beforeAll(async () => {
  pooler = await startPooler({ num_init_children: 8, max_pool: 2 });
  sql = postgres({
    host: pooler.host,
    port: pooler.port,
    user: 'postgres',
    database: 'app',
    max: 1,
    onnotice: () => {},
  });
  await sql`DROP TABLE IF EXISTS relay_t`;
  await sql`CREATE TABLE relay_t (id int primary key, payload text)`;
});
afterAll(async () => {
  await sql?.end();
  await stopAllPoolers();
});

describe('postgres.js through the pooler', () => {
  it('pipelines many queries on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => sql`select ${i}::int as i`));
    expect(results.map((r) => r[0].i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('uses named prepared statements with binary-capable parameters', async () => {
    const rows = [];
    for (let i = 0; i < 5; i++)
      rows.push((await sql`select ${Buffer.from([i, 255])}::bytea as b, ${i * 1.5}::float8 as f`)[0]);
    expect(rows.map((r) => [Buffer.from(r.b).toString('hex'), r.f])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`0${i}ff`, i * 1.5]),
    );
  });

  it('recovers from an error in the middle of a pipeline', async () => {
    const results = await Promise.allSettled([sql`select 1 as a`, sql`select 1/0 as b`, sql`select 3 as c`]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: [{ a: 1 }] });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
    expect((await sql`select 4 as d`)[0].d).toBe(4);
  });

  it('copies in and out', async () => {
    await sql`TRUNCATE relay_t`;
    const lines = Array.from({ length: 20000 }, (_, i) => `${i}\trow ${i} ${'x'.repeat(50)}\n`);
    const writable = await sql`COPY relay_t (id, payload) FROM STDIN`.writable();
    await pipeline(Readable.from(lines), writable);
    expect((await sql`select count(*)::int n from relay_t`)[0].n).toBe(20000);
    let bytes = 0;
    const readable = await sql`COPY relay_t TO STDOUT`.readable();
    await pipeline(
      readable,
      new Writable({
        write(chunk, _e, cb) {
          bytes += chunk.length;
          cb();
        },
      }),
    );
    expect(bytes).toBe(lines.reduce((a, l) => a + l.length, 0));
  });

  it('copies hundreds of MB in and out', async () => {
    await sql`DROP TABLE IF EXISTS relay_big`;
    await sql`CREATE UNLOGGED TABLE relay_big (payload text)`;
    const line = 'y'.repeat(1023) + '\n';
    const total = 200 * 1024; // 200 MB
    async function* lines() {
      const block = line.repeat(256);
      for (let i = 0; i < total / 256; i++) yield block;
    }
    await pipeline(Readable.from(lines()), await sql`COPY relay_big FROM STDIN`.writable());
    expect((await sql`select count(*)::int n from relay_big`)[0].n).toBe(total);
    let bytes = 0;
    await pipeline(
      await sql`COPY relay_big TO STDOUT`.readable(),
      new Writable({
        write(chunk, _e, cb) {
          bytes += chunk.length;
          cb();
        },
      }),
    );
    expect(bytes).toBe(total * 1024);
    await sql`DROP TABLE relay_big`;
  }, 120_000);

  it('reads with a cursor in batches', async () => {
    let n = 0;
    let batches = 0;
    await sql`select g from generate_series(1, 1000) g`.cursor(100, (rows) => {
      n += rows.length;
      batches++;
    });
    expect([n, batches]).toEqual([1000, 10]);
  });

  it('returns 10 MB rows', async () => {
    const r = await sql`select repeat('a', 10 * 1024 * 1024) as big, 2 as two`;
    expect([r[0].big.length, r[0].two]).toEqual([10 * 1024 * 1024, 2]);
  });
});

describe('LISTEN/NOTIFY between two sessions', () => {
  it('delivers a notification to the listener', async () => {
    await withClient(pooler.client(), async (listener) => {
      const got = new Promise<pg.Notification>((r) => listener.on('notification', r));
      await listener.query('LISTEN relay_chan');
      await withClient(pooler.client(), (n) => n.query("NOTIFY relay_chan, 'hello'"));
      const msg = await got;
      expect([msg.channel, msg.payload]).toEqual(['relay_chan', 'hello']);
    });
  });
});

describe('command-line clients', () => {
  it.skipIf(!have('psql'))('runs psql', async () => {
    const { stdout } = await run(
      'psql',
      ['-h', pooler.host, '-p', String(pooler.port), '-U', 'postgres', '-d', 'app', '-Atc', "select 'via psql', 6*7"],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
    );
    expect(stdout.trim()).toBe('via psql|42');
  });

  it.skipIf(!have('pgbench')).each(['simple', 'extended', 'prepared'])(
    'runs pgbench -M %s with no failed transaction',
    async (mode) => {
      const args = ['-h', pooler.host, '-p', String(pooler.port), '-U', 'postgres'];
      await run('pgbench', [...args, '-i', '-s', '1', '-q', 'app'], { timeout: 60_000 });
      const { stdout } = await run('pgbench', [...args, '-M', mode, '-c', '4', '-j', '2', '-t', '200', 'app'], {
        timeout: 60_000,
      });
      expect(stdout).toMatch(/number of transactions actually processed: 800\/800/);
      expect(stdout).toMatch(/number of failed transactions: 0 /);
    },
  );
});
