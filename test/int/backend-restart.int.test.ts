// PostgreSQL restarted while connections sit in the cache: no dead connection is ever
// handed to a client, and the next client gets a working session.
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { restartPostgres } from '../../src/dev/postgres-instance.js';
import { backendPid } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';

afterAll(stopAllPoolers);

describe('backend restart', () => {
  it('gives the next client a working session after PostgreSQL restarts', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, max_pool: 4 });
    const users = ['postgres', 'alice', 'bob'];
    const before = [];
    for (const u of users) before.push(await backendPid(p.client(u, 'app')));
    expect(await backendPid(p.client('alice', 'app'))).toBe(before[1]); // cached
    await restartPostgres(inject('pg').dataDir);
    const after = [];
    for (const u of users) after.push(await backendPid(p.client(u, 'app')));
    for (let i = 0; i < users.length; i++) expect(after[i]).not.toBe(before[i]);
    expect(await backendPid(p.client('alice', 'app'))).toBe(after[1]);
    await p.stop();
  });

  it('gives active clients an error, hangs nobody, and serves the next client', async () => {
    const p = await startPooler({ num_init_children: 3, max_pool: 2 });
    const active = new pg.Client(p.client('alice', 'app'));
    active.on('error', () => {});
    await active.connect();
    const running = active.query('select pg_sleep(20)').then(
      () => 'finished',
      (e: { code?: string; message: string }) => e.code ?? e.message,
    );
    const t0 = Date.now();
    await restartPostgres(inject('pg').dataDir);
    expect(await running).toBe('57P01');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await backendPid(p.client('alice', 'app'))).toBeGreaterThan(0);
    await p.stop();
  });
});
