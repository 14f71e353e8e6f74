// Following Patroni with a real two-member Patroni cluster (Debian's patroni, etcd and
// PostgreSQL on loopback): writes go to the member Patroni calls leader; when the leader
// dies Patroni elects the other and pgpool-ts writes there within ttl + loop_wait + one
// poll; every acknowledged write was taken by the member that led when it was acknowledged;
// reads go on on the replica while the leader cannot be reached; pgpool-ts detaches and
// promotes nothing itself. Then, on a second cluster: a member pgpool.conf does not name
// is the next node and serves reads; with Patroni silent past patroni_stale_timeout no
// node takes writes while reads go on on the member last called replica.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPatroniCluster, type PatroniCluster } from '../../../src/dev/patroni-cluster.js';
import { waitUntil } from '../../../src/dev/replicated-pair.js';
import { pcp, pcpSetup } from '../../helpers/pcp.js';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';

const POLL_MS = 200;

describe('backend_discovery = patroni', () => {
  let cluster: PatroniCluster;
  let p: Pooler;

  beforeAll(async () => {
    cluster = await startPatroniCluster({ ttl: 10, loopWait: 1, retryTimeout: 3 });
    await cluster.settled();
    const [m0, m1] = cluster.members;
    const tools = await pcpSetup();
    p = await startPooler(
      {
        backend_clustering_mode: 'streaming_replication',
        backend_hostname0: m0.host,
        backend_port0: m0.port,
        backend_hostname1: m1.host,
        backend_port1: m1.port,
        backend_discovery: 'patroni',
        patroni_url: cluster.members.map((m) => m.restUrl).join(','),
        patroni_poll_interval: POLL_MS,
        load_balance_mode: true,
        sr_check_period: 0,
        worker_processes: 1,
        num_init_children: 6,
        ...tools.values,
      },
      tools.files,
    );
  }, 300_000);

  afterAll(async () => {
    await stopAllPoolers();
    await cluster?.stop();
  });

  const client = async (database = 'postgres') => {
    const c = new pg.Client({ ...p.client('postgres', database), connectionTimeoutMillis: 5000 });
    c.on('error', () => {});
    await c.connect();
    return c;
  };

  /** SHOW pool_nodes as "status role" per node; nothing while no session can start (no leader known yet). */
  const nodes = async (): Promise<string[]> => {
    const c = await client().catch(() => undefined);
    if (!c) return [];
    try {
      return (await c.query('SHOW pool_nodes')).rows.map((r) => `${r.status} ${r.role}`);
    } finally {
      await c.end();
    }
  };

  it('follows the leader through its death: writes only where Patroni says, reads on the replica meanwhile', async () => {
    const [m0, m1] = cluster.members;
    await pollUntil(
      async () => (await nodes())[0] === 'up primary' || (await nodes())[0] === 'waiting primary',
      'm0 the primary',
    );
    expect((await nodes())[1]).toMatch(/^(up|waiting) standby$/);
    const setup = await client();
    await setup.query('CREATE TABLE w (id serial PRIMARY KEY, port int)');
    await setup.end();
    await waitUntil(m1.port, "SELECT to_regclass('w') IS NOT NULL", 'the table on the replica');
    // pgpool-ts takes no node action of its own.
    const refused = await pcp(p, 'pcp_detach_node', ['-n', '1']);
    expect(refused.stdout + refused.stderr).toMatch(/pgpool-ts follows Patroni/);

    const acks: { id: number; port: number; at: number }[] = [];
    const reads: { ok: boolean; at: number }[] = [];
    let running = true;
    const writer = (async () => {
      while (running) {
        const c = await client().catch(() => undefined);
        while (c && running) {
          try {
            const r = await c.query('INSERT INTO w (port) VALUES (inet_server_port()) RETURNING id, port');
            acks.push({ id: r.rows[0].id, port: r.rows[0].port, at: Date.now() });
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        await c?.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const reader = (async () => {
      while (running) {
        const ok = await client()
          .then(async (c) => {
            await c.query('SELECT count(*) FROM pg_class');
            await c.end();
            return true;
          })
          .catch(() => false);
        reads.push({ ok, at: Date.now() });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await pollUntil(() => acks.length >= 10, 'writes on the first leader');
    const killedAt = Date.now();
    await m0.kill();
    // A write in flight while the kill began may still have been taken by m0, the leader then.
    const deadAt = Date.now();
    await pollUntil(() => acks.some((a) => a.port === m1.port), 'a write on the new leader', 60_000, 50).catch((e) => {
      throw new Error(`${(e as Error).message}\n${cluster.logs()}\n== pgpool-ts\n${p.logs().slice(-6000)}`);
    });
    const resumedMs = acks.find((a) => a.port === m1.port)!.at - killedAt;
    await pollUntil(() => acks.filter((a) => a.port === m1.port).length >= 10, 'writes going on');
    running = false;
    await Promise.all([writer, reader]);

    // ttl + loop_wait + one poll, and a second for the promotion itself.
    expect(resumedMs).toBeLessThanOrEqual((cluster.ttl + cluster.loopWait) * 1000 + POLL_MS + 1000);
    // Until m0 died only m0 took writes; after it only m1 — never a member that was not the leader.
    expect(acks.filter((a) => a.at < deadAt).every((a) => a.port === m0.port)).toBe(true);
    expect(acks.filter((a) => a.at > deadAt).every((a) => a.port === m1.port)).toBe(true);
    // Every write the new leader acknowledged is there.
    const direct = new pg.Client({ host: m1.host, port: m1.port, user: 'postgres', database: 'postgres' });
    await direct.connect();
    const onM1 = new Set((await direct.query('SELECT id FROM w')).rows.map((r) => r.id as number));
    await direct.end();
    expect(acks.filter((a) => a.port === m1.port).every((a) => onM1.has(a.id))).toBe(true);
    // Reads went on while no leader could be reached.
    const during = reads.filter((r) => r.at > killedAt + 1000 && r.at < killedAt + resumedMs);
    expect(during.length).toBeGreaterThan(5);
    expect(during.filter((r) => r.ok).length).toBeGreaterThan(during.length / 2);
    expect(p.logs()).toMatch(/Patroni leader is node 1/);
    expect(p.logs()).not.toMatch(/execute command|degeneration/);
  }, 300_000);
});

// pgpool.conf naming one member only, and Patroni falling silent: a second cluster, started
// after the first has stopped (two bootstrapping at once overload a 2-core machine).
describe('backend_discovery = patroni, beyond pgpool.conf', () => {
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
  }, 300_000);

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

  describe('cases', () => {
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
        // The worker's log reaches the test through the supervisor's pipe: it may trail the reply.
        await p.waitForLog(/no node takes writes: the session runs on a replica/, 5_000);
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
});
