// No session state crosses from one client to the next on a reused backend connection,
// one test per kind of state, and a cached connection never serves another user or database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

let p: Pooler;
beforeAll(async () => {
  p = await startPooler({ num_init_children: 1, worker_processes: 1, max_pool: 4 });
});
afterAll(stopAllPoolers);

/** Runs `setup` in one session and `check` in the next, asserting both used the same backend. */
async function acrossSessions<T>(setup: string[], check: string, user = 'postgres', database = 'app'): Promise<T> {
  const first = await withClient(p.client(user, database), async (c) => {
    const pid = (await c.query('select pg_backend_pid() pid')).rows[0].pid as number;
    // A query starting with "!" is expected to fail (e.g. to leave a transaction aborted).
    for (const q of setup) await (q.startsWith('!') ? c.query(q.slice(1)).catch(() => undefined) : c.query(q));
    return pid;
  });
  return withClient(p.client(user, database), async (c) => {
    expect((await c.query('select pg_backend_pid() pid')).rows[0].pid).toBe(first);
    return (await c.query(check)).rows[0] as T;
  });
}

describe('session state does not leak', () => {
  it('advisory locks', async () => {
    const r = await acrossSessions<{ n: number }>(
      ['select pg_advisory_lock(4242)'],
      "select count(*)::int n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
    );
    expect(r.n).toBe(0);
  });

  it('SET ROLE', async () => {
    const r = await acrossSessions<{ cu: string; su: string }>(
      ['SET ROLE alice'],
      'select current_user cu, session_user su',
    );
    expect(r).toEqual({ cu: 'postgres', su: 'postgres' });
  });

  it('SET SESSION AUTHORIZATION', async () => {
    const r = await acrossSessions<{ cu: string; su: string }>(
      ['SET SESSION AUTHORIZATION bob'],
      'select current_user cu, session_user su',
    );
    expect(r).toEqual({ cu: 'postgres', su: 'postgres' });
  });

  it('search_path and other settings', async () => {
    const r = await acrossSessions<{ sp: string; tz: boolean; wm: string }>(
      ['SET search_path = pg_catalog', "SET TIME ZONE 'Pacific/Auckland'", "SET work_mem = '77MB'"],
      "select current_setting('search_path') sp, current_setting('TimeZone') = (select reset_val from pg_settings where name = 'TimeZone') tz, current_setting('work_mem') wm",
    );
    expect(r).toEqual({ sp: '"$user", public', tz: true, wm: '4MB' });
  });

  it('prepared statements and cursors', async () => {
    const r = await acrossSessions<{ ps: number; cur: number }>(
      ['PREPARE leak_ps AS SELECT 1', 'BEGIN', 'DECLARE leak_cur CURSOR WITH HOLD FOR SELECT 1', 'COMMIT'],
      'select (select count(*)::int from pg_prepared_statements) ps, (select count(*)::int from pg_cursors) cur',
    );
    expect(r).toEqual({ ps: 0, cur: 0 });
  });

  it('temporary tables and sequences', async () => {
    const r = await acrossSessions<{ n: number }>(
      ['CREATE TEMP TABLE leak_tmp (x int)', 'CREATE TEMP SEQUENCE leak_seq'],
      "select count(*)::int n from pg_class where relname in ('leak_tmp', 'leak_seq')",
    );
    expect(r.n).toBe(0);
  });

  it('an open, and a failed, transaction', async () => {
    const open = await acrossSessions<{ x: string | null }>(
      ['BEGIN', 'select 1'],
      'select txid_current_if_assigned()::text x',
    );
    expect(open.x).toBe(null);
    const failed = await acrossSessions<{ x: string | null }>(
      ['BEGIN', '!select 1/0'],
      'select txid_current_if_assigned()::text x',
    );
    expect(failed.x).toBe(null);
  });

  it('LISTEN', async () => {
    const r = await acrossSessions<{ n: number }>(
      ['LISTEN leak_chan'],
      'select count(*)::int n from pg_listening_channels()',
    );
    expect(r.n).toBe(0);
  });
});

describe('a cached connection stays with its user and database', () => {
  it('never serves another user or database', async () => {
    const seen = new Map<number, string>();
    for (let round = 0; round < 3; round++) {
      for (const [user, db] of [
        ['postgres', 'app'],
        ['alice', 'app'],
        ['postgres', 'app2'],
        ['bob', 'app2'],
      ]) {
        await withClient(p.client(user, db), async (c) => {
          const r = (await c.query('select pg_backend_pid() pid, session_user u, current_database() d')).rows[0];
          expect([r.u, r.d]).toEqual([user, db]);
          const owner = `${user}/${db}`;
          expect(seen.get(r.pid) ?? owner).toBe(owner);
          seen.set(r.pid, owner);
        });
      }
    }
    expect(seen.size).toBe(4); // max_pool = 4: each pair kept its own connection
  });
});
