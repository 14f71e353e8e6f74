#!/usr/bin/env node
// Failover soak with a real Patroni cluster (issue 18's target): pgpool-ts follows
// Patroni while FAILOVERS times the leader is killed (its Patroni and PostgreSQL) and later
// started again as a replica. A writer inserts through pgpool-ts all along, recording
// every acknowledged write and the member that took it; Patroni's leader is sampled.
// Prints: failovers, writes acknowledged, writes taken by a member Patroni did not call
// leader, acknowledged writes missing from the final leader (lost), and the time from each
// kill to the next write. With SYNC=1 Patroni runs in synchronous_mode (nothing lost).
// Exits non-zero on a write taken by a non-leader (or, with SYNC=1, on a lost one).
// `npm run build` first; not part of CI.
//   FAILOVERS=20 SYNC=1 node test/soak/patroni-soak.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../dist/dev/free-port.js';
import { startPatroniCluster } from '../../dist/dev/patroni-cluster.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FAILOVERS = Number(process.env.FAILOVERS ?? 20);
const SYNC = process.env.SYNC === '1';
const POLL_MS = 200;
const log = (m) => process.stderr.write(`[patroni-soak] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const cluster = await startPatroniCluster({ members: 2, ttl: 10, loopWait: 1, retryTimeout: 3, synchronousMode: SYNC });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-patroni-soak-'));
let pooler;
let running = false;
try {
  let leader = await cluster.settled();
  const port = await freePort();
  const conf = path.join(dir, 'pgpool.conf');
  fs.writeFileSync(
    conf,
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      `pid_file_name = '${dir}/pgpool.pid'`,
      `work_dir = '${dir}'`,
      `pcp_port = ${await freePort()}`,
      `pcp_socket_dir = '${dir}'`,
      'metrics_port = 0',
      "backend_clustering_mode = 'streaming_replication'",
      ...cluster.members.flatMap((m, i) => [`backend_hostname${i} = '${m.host}'`, `backend_port${i} = ${m.port}`]),
      "backend_discovery = 'patroni'",
      `patroni_url = '${cluster.members.map((m) => m.restUrl).join(',')}'`,
      `patroni_poll_interval = ${POLL_MS}`,
      'load_balance_mode = on',
      'sr_check_period = 0',
      'num_init_children = 8',
      '',
    ].join('\n'),
  );
  pooler = spawn(process.execPath, [path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', conf], { stdio: 'ignore' });
  const client = async () => {
    const c = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: 5000,
    });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  for (let i = 0; ; i++) {
    const c = await client().catch(() => undefined);
    if (c) {
      const ok = await c.query('CREATE TABLE IF NOT EXISTS soak (id bigserial PRIMARY KEY, port int)').then(
        () => true,
        () => false,
      );
      await c.end();
      if (ok) break;
    }
    if (i > 100) throw new Error('pgpool-ts did not start serving writes');
    await sleep(200);
  }

  // The leader as Patroni says, sampled every 100 ms: [time, port].
  const leaders = [];
  running = true;
  const sampler = (async () => {
    while (running) {
      const c = await cluster.cluster().catch(() => undefined);
      const l = c?.members.find((m) => m.role === 'leader' && m.state === 'running');
      leaders.push([Date.now(), l ? cluster.members.find((m) => m.name === l.name)?.port : undefined]);
      await sleep(100);
    }
  })();
  const acks = [];
  const writer = (async () => {
    while (running) {
      const c = await client().catch(() => undefined);
      while (c && running) {
        const sent = Date.now();
        try {
          const r = await c.query('INSERT INTO soak (port) VALUES (inet_server_port()) RETURNING id, port');
          acks.push({ id: Number(r.rows[0].id), port: r.rows[0].port, sent, at: Date.now() });
        } catch {
          break;
        }
      }
      await c?.end().catch(() => undefined);
      await sleep(50);
    }
  })();

  const resumed = [];
  for (let f = 0; f < FAILOVERS; f++) {
    // Patroni promotes only a healthy replica (in synchronous_mode, the sync standby): let it become one.
    const ready = Date.now() + 120_000;
    for (;;) {
      const c = await cluster.cluster().catch(() => undefined);
      const replica = c?.members.find((m) => m.role !== 'leader');
      if (replica && (!SYNC || replica.role === 'sync_standby')) break;
      if (Date.now() > ready) throw new Error(`the replica did not become ${SYNC ? 'the sync standby' : 'healthy'}`);
      await sleep(200);
    }
    await sleep(3000);
    const old = leader;
    const killedAt = Date.now();
    await old.kill();
    const next = cluster.members.find((m) => m !== old);
    while (!acks.some((a) => a.at > killedAt && a.port === next.port)) {
      if (Date.now() - killedAt > 120_000) throw new Error(`failover ${f + 1}: no write on ${next.name} within 120 s`);
      await sleep(50);
    }
    resumed.push(acks.find((a) => a.at > killedAt && a.port === next.port).at - killedAt);
    old.restart();
    leader = await cluster.settled(180_000);
    log(`failover ${f + 1}/${FAILOVERS}: writes resumed on ${next.name} after ${resumed.at(-1)} ms`);
  }
  await sleep(1000);
  running = false;
  await Promise.all([writer, sampler]);

  // A write was taken by a member Patroni did not call leader at any moment of its round trip.
  const leaderBetween = (from, to) =>
    new Set(leaders.filter(([t]) => t >= from - 1000 && t <= to + 1000).map(([, p]) => p));
  const nonLeader = acks.filter((a) => !leaderBetween(a.sent, a.at).has(a.port));
  const final = new pg.Client({ host: leader.host, port: leader.port, user: 'postgres', database: 'postgres' });
  await final.connect();
  const present = new Set((await final.query('SELECT id FROM soak')).rows.map((r) => Number(r.id)));
  await final.end();
  const lost = acks.filter((a) => !present.has(a.id));
  const sorted = [...resumed].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      failovers: FAILOVERS,
      synchronous_mode: SYNC,
      writes_acknowledged: acks.length,
      writes_by_non_leader: nonLeader.length,
      acknowledged_writes_lost: lost.length,
      resume_ms: { median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) },
      ttl_s: cluster.ttl,
      loop_wait_s: cluster.loopWait,
      poll_ms: POLL_MS,
      node: process.version,
    }),
  );
  if (nonLeader.length > 0 || (SYNC && lost.length > 0)) process.exitCode = 1;
} catch (e) {
  log(e.message);
  process.exitCode = 1;
} finally {
  running = false;
  pooler?.kill('SIGKILL');
  await cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
