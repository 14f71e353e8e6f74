// Following Patroni with a real two-member Patroni cluster (Debian's patroni, etcd and
// PostgreSQL on loopback): writes go to the member Patroni calls leader; when the leader
// dies Patroni elects the other and pgpool-ts writes there within ttl + loop_wait + one
// poll; every acknowledged write was taken by the member that led when it was acknowledged;
// reads go on on the replica while the leader cannot be reached; pgpool-ts detaches and
// promotes nothing itself.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPatroniCluster, type PatroniCluster } from '../../../src/dev/patroni-cluster.js';
import { waitUntil } from '../../../src/dev/replicated-pair.js';
import { pcp, pcpSetup } from '../../helpers/pcp.js';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';

let cluster: PatroniCluster;
let p: Pooler;
const POLL_MS = 200;

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
}, 180_000);

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

describe('backend_discovery = patroni', () => {
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
  }, 180_000);
});
