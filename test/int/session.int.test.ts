// One client at a time per child, a backend connection cached per child and reused by
// the next client with the same user, database and startup parameters; nothing of one
// session visible to the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendPid, connectError, withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

let pooler: Pooler;
// One child, so that consecutive sessions are served by the same child and its cache.
beforeAll(async () => {
  pooler = await startPooler({ num_init_children: 1, max_pool: 4, worker_processes: 1 });
});
afterAll(stopAllPoolers);

describe('connection cache', () => {
  it('reuses the backend for the same user and database', async () => {
    const a = await backendPid(pooler.client('postgres', 'app'));
    const b = await backendPid(pooler.client('postgres', 'app'));
    const c = await backendPid(pooler.client('postgres', 'app'));
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('gives another user or database another backend, and keeps each cached', async () => {
    const app = await backendPid(pooler.client('postgres', 'app'));
    const alice = await backendPid(pooler.client('alice', 'app'));
    const app2 = await backendPid(pooler.client('postgres', 'app2'));
    expect(new Set([app, alice, app2]).size).toBe(3);
    expect(await backendPid(pooler.client('alice', 'app'))).toBe(alice);
    expect(await backendPid(pooler.client('postgres', 'app2'))).toBe(app2);
  });

  it('never caches connections to the postgres database', async () => {
    const a = await backendPid(pooler.client('postgres', 'postgres'));
    const b = await backendPid(pooler.client('postgres', 'postgres'));
    expect(b).not.toBe(a);
  });

  it('does not share a backend between different startup parameters', async () => {
    const plain = await backendPid(pooler.client('bob', 'app'));
    const named = await backendPid({ ...pooler.client('bob', 'app'), application_name: 'other' });
    expect(named).not.toBe(plain);
  });

  it('loses the cached connection when the client vanishes without Terminate', async () => {
    const a = await backendPid(pooler.client('postgres', 'app'));
    const c = new (await import('pg')).default.Client(pooler.client('postgres', 'app'));
    c.on('error', () => {});
    await c.connect();
    expect((await c.query('select pg_backend_pid() as pid')).rows[0].pid).toBe(a);
    // destroy the socket: no Terminate message
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const b = await backendPid(pooler.client('postgres', 'app'));
    expect(b).not.toBe(a);
  });
});

describe('isolation between clients', () => {
  it('resets SET and search_path', async () => {
    await withClient(pooler.client(), (c) =>
      c.query("SET search_path TO pg_catalog; SET application_name = 'leak'; SET statement_timeout = '1234ms'"),
    );
    await withClient(pooler.client(), async (c) => {
      const r = await c.query("select current_setting('search_path') sp, current_setting('statement_timeout') st");
      expect(r.rows[0]).toEqual({ sp: '"$user", public', st: '0' });
    });
  });

  it('drops temp tables and prepared statements', async () => {
    const pid = await withClient(pooler.client(), async (c) => {
      await c.query('CREATE TEMP TABLE t_leak(x int)');
      await c.query('PREPARE p_leak AS SELECT 1');
      return (await c.query('select pg_backend_pid() pid')).rows[0].pid;
    });
    await withClient(pooler.client(), async (c) => {
      expect((await c.query('select pg_backend_pid() pid')).rows[0].pid).toBe(pid);
      expect((await c.query("select count(*)::int n from pg_class where relname = 't_leak'")).rows[0].n).toBe(0);
      expect((await c.query('select count(*)::int n from pg_prepared_statements')).rows[0].n).toBe(0);
    });
  });

  it('aborts an open transaction and forgets LISTEN', async () => {
    await withClient(pooler.client(), async (c) => {
      await c.query('CREATE TABLE IF NOT EXISTS tx_leak(x int)');
      await c.query('TRUNCATE tx_leak');
      await c.query('LISTEN leak_channel');
      await c.query('BEGIN');
      await c.query('INSERT INTO tx_leak VALUES (1)');
    });
    await withClient(pooler.client(), async (c) => {
      expect((await c.query('select count(*)::int n from tx_leak')).rows[0].n).toBe(0);
      expect((await c.query('select count(*)::int n from pg_listening_channels()')).rows[0].n).toBe(0);
      expect(
        (await c.query("select current_setting('transaction_isolation') t, txid_current_if_assigned() x")).rows[0].x,
      ).toBe(null);
    });
  });
});

describe('errors', () => {
  it("relays PostgreSQL's own error for a missing database", async () => {
    const e = await connectError(pooler.client('postgres', 'no_such_db'));
    expect(e).toMatchObject({ code: '3D000', severity: 'FATAL', message: 'database "no_such_db" does not exist' });
  });

  it('keeps serving after a client error', async () => {
    await expect(withClient(pooler.client(), (c) => c.query('select 1/0'))).rejects.toMatchObject({ code: '22012' });
    expect(await withClient(pooler.client(), async (c) => (await c.query('select 42 x')).rows[0].x)).toBe(42);
  });
});

describe('choosing a child', () => {
  it("prefers the idle child whose cache holds the client's connection", async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 1 });
    const pg = (await import('pg')).default;
    // Child 1 takes a postgres session and holds it, so alice lands on child 2.
    const holder = new pg.Client(p.client('postgres', 'app'));
    await holder.connect();
    const alicePid = await backendPid(p.client('alice', 'app'));
    await holder.end();
    await new Promise((r) => setTimeout(r, 200));
    // Both idle now, child 1 first in line; alice still gets child 2 and its cached backend.
    expect(await backendPid(p.client('alice', 'app'))).toBe(alicePid);
    await p.stop();
  });
});
