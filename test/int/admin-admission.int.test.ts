// admin_users and admin_reserved_children (docs/behaviour.md#admission): with every other
// child busy an administrator is served at once, ahead of the line, by a reserved child;
// other users never take one, and reserved_connections counts only the other children.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { backendPid, connectError, connected } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { freePort } from '../helpers/ports.js';
import { scrape } from '../helpers/scrape-names.js';

afterAll(stopAllPoolers);

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client that connects in the background; `served` says whether it got a child yet. */
function waiter(cfg: pg.ClientConfig): { served: () => boolean; client: Promise<pg.Client> } {
  let served = false;
  const client = connected(cfg).then((c) => ((served = true), c));
  return { served: () => served, client };
}

const metric = async (port: number, series: string) => (await scrape(port)).get(series);

/** SHOW `report` by psql over TCP as postgres (sslmode=prefer: it sends an SSLRequest first): its rows. */
async function showByPsql(p: Pooler, report: string): Promise<string[][]> {
  const { stdout } = await run(
    'psql',
    ['-h', '127.0.0.1', '-p', String(p.port), '-U', 'postgres', '-d', 'app', '-At', '-F', '|', '-c', `SHOW ${report}`],
    { timeout: 10_000, env: { ...process.env, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '5' } },
  );
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

describe('administrators always get in', () => {
  it('num_init_children 3, admin_reserved_children 1: postgres is served at once past a waiting client; others never take its child', async () => {
    const metricsPort = await freePort();
    const p = await startPooler({
      num_init_children: 3,
      admin_reserved_children: 1,
      admin_users: 'postgres',
      metrics_port: metricsPort,
      metrics_listen_addresses: '127.0.0.1',
    });
    const a = await connected(p.client('alice', 'app'));
    const b = await connected(p.client('bob', 'app'));
    const third = waiter(p.client('alice', 'app'));
    await sleep(500);
    // The free child is the reserved one: alice waits.
    expect(third.served()).toBe(false);
    expect(await metric(metricsPort, 'pgpool_ts_clients_waiting')).toBe(1);
    expect(await metric(metricsPort, 'pgpool_ts_reserved_children{state="idle"}')).toBe(1);

    // psql as postgres gets in at once, sees who holds the children, and who waits.
    const t0 = Date.now();
    const processes = await showByPsql(p, 'pool_processes');
    expect(processes.map((cols) => [cols[4], cols[8]]).sort()).toEqual([
      ['alice', 'no'],
      ['bob', 'no'],
      ['postgres', 'yes'],
    ]);
    const waiting = await showByPsql(p, 'pool_waiting');
    expect(waiting.map(([host, , user, database, , admin]) => [host, user, database, admin])).toEqual([
      ['127.0.0.1', 'alice', 'app', 'no'],
    ]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(third.served()).toBe(false);

    // An administrator holding the reserved child, and a fourth ordinary client, which waits too.
    const admin = await connected(p.client('postgres', 'app'));
    expect(await metric(metricsPort, 'pgpool_ts_reserved_children{state="busy"}')).toBe(1);
    const fourth = waiter(p.client('bob', 'app'));
    await sleep(300);
    expect([third.served(), fourth.served()]).toEqual([false, false]);
    expect(await metric(metricsPort, 'pgpool_ts_clients_waiting')).toBe(2);

    // The administrator leaves: its child is free, and still not for them.
    await admin.end();
    await sleep(500);
    expect([third.served(), fourth.served()]).toEqual([false, false]);

    // An ordinary child frees: the first in line gets it, the fourth still waits.
    await a.end();
    const c = await third.client;
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('alice');
    await sleep(300);
    expect(fourth.served()).toBe(false);
    await b.end();
    const d = await fourth.client;
    await Promise.all([c.end(), d.end()]);
    await p.stop();
  });

  it('with reserved_connections, others are refused beyond the unreserved children, while postgres gets in', async () => {
    const p = await startPooler({
      num_init_children: 4,
      admin_reserved_children: 1,
      admin_users: 'postgres',
      reserved_connections: 1,
    });
    // 4 − 1 reserved for administrators − 1 reserved_connections: two others at most.
    const a = await connected(p.client('alice', 'app'));
    const b = await connected(p.client('bob', 'app'));
    expect(await connectError(p.client('alice', 'app'))).toMatchObject({
      code: '53300',
      severity: 'FATAL',
      message: 'Sorry, too many clients already',
    });
    expect(await backendPid(p.client('postgres', 'app'))).toBeGreaterThan(0);
    const admin = await connected(p.client('postgres', 'app'));
    expect((await admin.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    await p.waitForLog(/Sorry, too many clients already \(reserved_connections\)/);
    await Promise.all([a.end(), b.end(), admin.end()]);
    await p.stop();
  });
});
