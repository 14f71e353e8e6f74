// A backend connection lost in mid-session, the standby of a real streaming pair behind a
// TCP proxy that drops its connections: a reset detaches the node when
// failover_on_backend_error is on (that session's socket just closes, a session on the
// primary alone goes on), is told without a detach when off; EOF is told and detaches
// nothing (pgpool's pool_read, docs/behaviour.md#failover).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';
import { scratch, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { portOf, primaryFound, routingConf, withClient } from '../../helpers/routing.js';
import { tcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const made = scratch();
let pair: ReplicatedPair;
let proxy: TcpProxy;

beforeAll(async () => {
  pair = await made.pair();
  proxy = await tcpProxy(pair.standby.host, pair.standby.port);
});
afterAll(async () => {
  await stopAllPoolers();
  await proxy?.stop();
  await made.cleanup();
});

async function pooler(failoverOnBackendError: boolean): Promise<Pooler> {
  const p = await startPooler(
    routingConf(pair, {
      backend_port0: proxy.port,
      failover_on_backend_error: failoverOnBackendError,
      sr_check_period: 0,
      num_init_children: 3,
      app_name_redirect_preference_list: 'keeper:primary',
    }),
  );
  await primaryFound(p);
  return p;
}

/** A client reading on the standby (through the proxy), and what it is told when its session ends. */
async function reader(p: Pooler): Promise<{ c: pg.Client; ended: Promise<pg.DatabaseError | Error> }> {
  const c = new pg.Client({ ...p.client('postgres', 'app'), application_name: 'reader' });
  const ended = new Promise<pg.DatabaseError | Error>((resolve) => c.on('error', resolve));
  await c.connect();
  expect(await portOf(c)).toBe(pair.standby.port);
  return { c, ended };
}

/** What the client was told, as PostgreSQL's fields. */
const told = (e: pg.DatabaseError | Error) => {
  const d = e as pg.DatabaseError;
  return [d.severity, d.code, d.message, d.detail];
};

const statuses = (p: Pooler) =>
  withClient(p, async (c) => (await c.query('SHOW pool_nodes')).rows.map((r) => r.status as string));

describe('a backend connection lost in mid-session', () => {
  it('a reset with failover_on_backend_error on: the node is detached, that session closed, others go on', async () => {
    const p = await pooler(true);
    const keeper = new pg.Client({ ...p.client('postgres', 'app'), application_name: 'keeper' });
    await keeper.connect();
    const { ended } = await reader(p);
    proxy.drop('reset');
    const e = await ended;
    // No ErrorResponse: the socket closes, as pgpool's child exits.
    expect(e).not.toHaveProperty('code');
    expect(e.message).toMatch(/Connection terminated unexpectedly/);
    await p.waitForLog(/=== Failover done\. shutdown host 127\.0\.0\.1\(\d+\) ===/, 20_000);
    expect(p.logs()).toMatch(/the connection to DB node 0 was lost under the session/);
    expect(await portOf(keeper)).toBe(pair.primary.port);
    await keeper.end();
    expect(await statuses(p)).toEqual(['down', 'up']);
    await p.stop();
  }, 60_000);

  it('a reset with failover_on_backend_error off: told, and the node stays up', async () => {
    const p = await pooler(false);
    const { ended } = await reader(p);
    proxy.drop('reset');
    expect(told(await ended)).toEqual([
      'ERROR',
      'XX000',
      'unable to read data from DB node 0',
      'do not failover because failover_on_backend_error is off',
    ]);
    expect(await statuses(p)).toEqual(['up', 'up']);
    // The next session reads on the standby again.
    const again = await reader(p);
    await again.c.end();
    await p.stop();
  }, 60_000);

  it('EOF: told, and nothing is detached', async () => {
    const p = await pooler(true);
    const { ended } = await reader(p);
    proxy.drop('eof');
    expect(told(await ended)).toEqual([
      'FATAL',
      'XX000',
      'unable to read data from DB node 0',
      'EOF encountered with backend',
    ]);
    await pollUntil(async () => (await statuses(p))[0] === 'up', 'node 0 still up');
    expect(p.logs()).not.toMatch(/degenerate backend request/);
    await p.stop();
  }, 60_000);
});
