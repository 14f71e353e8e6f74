// The pooling parameters acting on real connections: a unix-socket backend,
// connection_cache = off, connection_life_time (enforced with no traffic), max_pool
// eviction, and SHOW pool_version answered by the pooler itself.
import pg from 'pg';
import fs from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { backendPid, withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';

afterAll(stopAllPoolers);

async function backendCount(appName: string): Promise<number> {
  const pgInfo = inject('pg');
  return withClient({ host: pgInfo.host, port: pgInfo.port, user: 'postgres', database: 'postgres' }, async (c) => {
    const r = await c.query('select count(*)::int n from pg_stat_activity where application_name = $1', [appName]);
    return r.rows[0].n;
  });
}

describe('pooling parameters', () => {
  it('reaches PostgreSQL through its unix socket directory', async () => {
    const p = await startPooler({
      backend_hostname0: inject('pg').socketDir,
      num_init_children: 1,
      worker_processes: 1,
    });
    const a = await backendPid(p.client());
    expect(await backendPid(p.client())).toBe(a);
    await p.stop();
  });

  it('connection_cache = off: a new backend every session, closed at the end', async () => {
    const p = await startPooler({ connection_cache: false, num_init_children: 1, worker_processes: 1 });
    const cfg = { ...p.client(), application_name: 'cache_off' };
    const a = await backendPid(cfg);
    const b = await backendPid(cfg);
    expect(b).not.toBe(a);
    await new Promise((r) => setTimeout(r, 200));
    expect(await backendCount('cache_off')).toBe(0);
    await p.stop();
  });

  it('connection_life_time closes an idle cached connection with no traffic', async () => {
    const p = await startPooler({ connection_life_time: 1, num_init_children: 1, worker_processes: 1 });
    const cfg = { ...p.client(), application_name: 'life_time' };
    const a = await backendPid(cfg);
    expect(await backendCount('life_time')).toBe(1);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await backendCount('life_time')).toBe(0);
    expect(await backendPid(cfg)).not.toBe(a);
    await p.stop();
  });

  it('max_pool = 2 evicts the connection returned longest ago', async () => {
    const p = await startPooler({ max_pool: 2, num_init_children: 1, worker_processes: 1 });
    const pid = (db: string, user: string) => backendPid(p.client(user, db));
    const a1 = await pid('app', 'postgres');
    const b1 = await pid('app', 'alice');
    expect(await pid('app', 'postgres')).toBe(a1); // A reused
    const c1 = await pid('app', 'bob'); // evicts B
    expect(await pid('app', 'postgres')).toBe(a1);
    expect(await pid('app', 'alice')).not.toBe(b1); // B was evicted
    expect(c1).toBeGreaterThan(0);
    await p.stop();
  });

  it('answers SHOW pool_version itself over the simple protocol, and leaves other SHOWs to PostgreSQL', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    await withClient(p.client(), async (c) => {
      await c.query('BEGIN');
      const r = await c.query('SHOW POOL_VERSION');
      expect(r.fields.map((f) => f.name)).toEqual(['pool_version']);
      expect(r.rows[0].pool_version).toMatch(/^4\.8\.0 \(pgpool-ts \d+\.\d+\.\d+\)$/);
      expect((await c.query('show server_version_num')).rows[0].server_version_num).toMatch(/^\d+$/);
      await c.query('COMMIT');
      // Through the extended protocol it goes to PostgreSQL, as in pgpool.
      await expect(
        c.query({ text: 'SHOW pool_version', values: [], rowMode: 'array', name: 'ext' }),
      ).rejects.toMatchObject({ code: '42704' });
    });
    await p.stop();
  });
});

describe('backpressure', () => {
  it('does not buffer a large result for a client that stops reading', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const c = new pg.Client(p.client());
    await c.connect();
    const socket = (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream;
    const q = c.query("select repeat('x', 1000000) from generate_series(1, 300)"); // ~300 MB
    await new Promise((r) => setTimeout(r, 300));
    socket.pause();
    await new Promise((r) => setTimeout(r, 2000));
    const rss = workerRss(p.proc.pid!);
    socket.resume();
    const rows = (await q).rows.length;
    await c.end();
    expect(rows).toBe(300);
    expect(rss).toBeLessThan(200 * 1024 * 1024);
    await p.stop();
  }, 120_000);
});

/** Largest RSS among the pooler's worker processes (bytes). */
function workerRss(supervisorPid: number): number {
  const kids = fs
    .readFileSync(`/proc/${supervisorPid}/task/${supervisorPid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  return Math.max(
    ...kids.map((k) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${k}/status`, 'utf8'))![1]) * 1024),
  );
}
