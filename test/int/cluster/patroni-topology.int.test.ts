// Following Patroni where pgpool.conf names only one member: the other comes from Patroni
// alone, as the next free node, and serves reads; and when no Patroni endpoint answers for
// patroni_stale_timeout, no node takes writes while reads go on on the member Patroni
// last called replica, until Patroni answers again (a real two-member Patroni cluster).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPatroniCluster, type PatroniCluster } from '../../../src/dev/patroni-cluster.js';
import { waitUntil } from '../../../src/dev/replicated-pair.js';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';

let cluster: PatroniCluster;
let p: Pooler;

beforeAll(async () => {
  // A ttl well above the pause below: Patroni must not lose its leader while frozen.
  cluster = await startPatroniCluster({ ttl: 30, loopWait: 1, retryTimeout: 3 });
  await cluster.settled();
  const [m0] = cluster.members;
  p = await startPooler({
    backend_clustering_mode: 'streaming_replication',
    backend_hostname0: m0.host,
    backend_port0: m0.port,
    backend_discovery: 'patroni',
    patroni_url: cluster.members.map((m) => m.restUrl).join(','),
    patroni_poll_interval: 200,
    patroni_stale_timeout: 1,
    load_balance_mode: true,
    sr_check_period: 0,
    worker_processes: 1,
    num_init_children: 4,
  });
}, 180_000);

afterAll(async () => {
  for (const m of cluster?.members ?? []) m.resume();
  await stopAllPoolers();
  await cluster?.stop();
});

const client = async () => {
  const c = new pg.Client({ ...p.client('postgres', 'postgres'), connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
};

async function once<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await client();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('backend_discovery = patroni, beyond pgpool.conf', () => {
  it('uses a member no backend names as the next node, for reads', async () => {
    const [m0, m1] = cluster.members;
    await p.waitForLog(/Patroni member .{1,2}m1.{1,2} at 127\.0\.0\.1:\d+ is named by no backend: it is node 1/);
    await pollUntil(
      async () => (await once((c) => c.query('SHOW pool_nodes')).catch(() => undefined))?.rows.length === 2,
      () => `two nodes in SHOW pool_nodes\n${p.logs().slice(-5000)}`,
    );
    const rows = (await once((c) => c.query('SHOW pool_nodes'))).rows;
    expect(rows.map((r) => [r.node_id, r.hostname, Number(r.port), r.role])).toEqual([
      ['0', m0.host, m0.port, 'primary'],
      ['1', m1.host, m1.port, 'standby'],
    ]);
    // Weights 1:1 (the default for a node no backend_weightN names): sessions read on both.
    const ports = new Set<number>();
    for (let i = 0; i < 40 && ports.size < 2; i++)
      ports.add((await once((c) => c.query('SELECT inet_server_port() AS port'))).rows[0].port);
    expect([...ports].sort()).toEqual([m0.port, m1.port].sort());
    // Writes only on the leader, m0.
    const w = await once((c) =>
      c.query('CREATE TABLE t (port int); INSERT INTO t VALUES (inet_server_port()); SELECT port FROM t'),
    );
    expect((w as unknown as pg.QueryResult[])[2].rows[0].port).toBe(m0.port);
  }, 60_000);

  it('with Patroni silent past patroni_stale_timeout: reads on the replica, writes nowhere; then writes again', async () => {
    const [m0, m1] = cluster.members;
    await waitUntil(m1.port, "SELECT to_regclass('t') IS NOT NULL", 'the table on the replica');
    const held = await client();
    for (const m of cluster.members) m.pause();
    try {
      await p.waitForLog(/no Patroni endpoint has answered for 1 s: no node takes writes until one does/, 15_000);
      // The workers hear of it over IPC: a session that started before may still have been ended by it.
      let tried: pg.Client | undefined;
      await pollUntil(async () => {
        await tried?.end().catch(() => undefined);
        tried = await client().catch(() => undefined);
        const r = await tried?.query('SELECT inet_server_port() AS port').catch(() => undefined);
        return r?.rows[0].port === m1.port;
      }, 'a session reading on the replica');
      const readOnly = tried!;
      const refused = await readOnly.query('INSERT INTO t VALUES (0)').catch((e: pg.DatabaseError) => e);
      expect([(refused as pg.DatabaseError).code, (refused as Error).message]).toEqual([
        '25006',
        'cannot execute INSERT in a read-only transaction',
      ]);
      expect(p.logs()).toMatch(/no node takes writes: the session runs on a replica/);
      // The session held on the leader when Patroni fell silent was ended.
      expect(
        await held.query('SELECT 1').then(
          () => 'served',
          () => 'ended',
        ),
      ).toBe('ended');
      for (const m of cluster.members) m.resume();
      await p.waitForLog(/Patroni answers again: following its leader/, 15_000);
      // Read-only sessions end when a leader is known again, so their clients come back writing.
      await pollUntil(
        () =>
          readOnly.query('SELECT 1').then(
            () => false,
            () => true,
          ),
        'the read-only session ended',
      );
      await readOnly.end().catch(() => undefined);
      const wrote = await once((c) => c.query('INSERT INTO t VALUES (inet_server_port()) RETURNING port'));
      expect(wrote.rows[0].port).toBe(m0.port);
    } finally {
      for (const m of cluster.members) m.resume();
      await held.end().catch(() => undefined);
    }
  }, 90_000);
});
