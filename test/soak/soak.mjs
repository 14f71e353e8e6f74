#!/usr/bin/env node
// Soak test (not part of CI): SOAK_MINUTES (default 30) of connection churn, pipelined
// extended-protocol traffic and COPY, with twice num_init_children clients, against a
// PostgreSQL and a pgpool-ts it starts itself. Reports errors by code, RSS and open file
// descriptors of all pooler processes (growth per hour by least squares), and checks that
// every backend connection is accounted for at the end. Run after `npm run build`:
//   SOAK_MINUTES=30 node test/soak/soak.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import postgres from 'postgres';
import { freePort } from '../../dist/dev/free-port.js';
import { startPostgres } from '../../dist/dev/postgres-instance.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const minutes = Number(process.env.SOAK_MINUTES ?? 30);
const children = Number(process.env.SOAK_CHILDREN ?? 8);
const maxPool = 2;
const clients = 2 * children;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function treeStats(pid) {
  const pids = [
    pid,
    ...fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  ];
  let rss = 0;
  let fds = 0;
  for (const p of pids) {
    rss += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1]) * 1024;
    fds += fs.readdirSync(`/proc/${p}/fd`).length;
  }
  return { rss, fds };
}

function slopePerHour(samples, key) {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + s[key], 0) / n;
  const num = samples.reduce((a, s) => a + (s.t - mx) * (s[key] - my), 0);
  const den = samples.reduce((a, s) => a + (s.t - mx) ** 2, 0);
  return (num / den) * 3_600_000;
}

const pgInst = await startPostgres({ port: await freePort() });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-soak-'));
const port = await freePort();
fs.writeFileSync(
  path.join(dir, 'pgpool.conf'),
  [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `pcp_port = ${await freePort()}`,
    `pcp_socket_dir = '${dir}'`,
    `pid_file_name = '${dir}/pgpool.pid'`,
    `backend_hostname0 = '127.0.0.1'`,
    `backend_port0 = ${pgInst.port}`,
    `num_init_children = ${children}`,
    `max_pool = ${maxPool}`,
    `worker_processes = 2`,
    `metrics_port = 0`,
    `listen_backlog_multiplier = 4`,
    '',
  ].join('\n'),
);
const pooler = spawn(
  process.execPath,
  [path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let poolerLog = '';
pooler.stderr.on('data', (b) => {
  poolerLog = (poolerLog + b).slice(-20000);
});
for (let i = 0; i < 100 && !poolerLog.includes('successfully started'); i++) await sleep(100);
const cfg = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
{
  const c = new pg.Client({ ...cfg, port: pgInst.port });
  await c.connect();
  await c.query('CREATE DATABASE soak');
  await c.end();
}
const soakCfg = { ...cfg, database: 'soak' };
await (async () => {
  const c = new pg.Client(soakCfg);
  await c.connect();
  await c.query('CREATE TABLE IF NOT EXISTS copy_sink (x text)');
  await c.end();
})();

const end = Date.now() + minutes * 60_000;
const errors = new Map();
const done = { churn: 0, pipelined: 0, copies: 0 };
const fail = (e) => errors.set(e.code ?? e.message, (errors.get(e.code ?? e.message) ?? 0) + 1);

async function churnLoop() {
  while (Date.now() < end) {
    const c = new pg.Client(soakCfg);
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      done.churn++;
    } catch (e) {
      fail(e);
    }
  }
}
async function pipelineLoop() {
  while (Date.now() < end) {
    const sql = postgres({ ...soakCfg, max: 1, onnotice: () => {} });
    try {
      for (let round = 0; round < 20 && Date.now() < end; round++) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => sql`select ${i}::int as i, ${'x'.repeat(100)}::text as t`),
        );
        done.pipelined += 50;
      }
    } catch (e) {
      fail(e);
    }
    await sql.end();
  }
}
async function copyLoop() {
  while (Date.now() < end) {
    const sql = postgres({ ...soakCfg, max: 1, onnotice: () => {} });
    try {
      const rows = Array.from({ length: 2000 }, (_, i) => `row ${i}\n`);
      await pipeline(Readable.from(rows), await sql`COPY copy_sink FROM STDIN`.writable());
      await sql`TRUNCATE copy_sink`;
      done.copies++;
    } catch (e) {
      fail(e);
    }
    await sql.end();
  }
}

const samples = [];
const t0 = Date.now();
const sampler = setInterval(() => samples.push({ t: Date.now() - t0, ...treeStats(pooler.pid) }), 10_000);
samples.push({ t: 0, ...treeStats(pooler.pid) });
const loops = Array.from({ length: clients }, (_, i) =>
  i % 3 === 0 ? churnLoop() : i % 3 === 1 ? pipelineLoop() : copyLoop(),
);
await Promise.all(loops);
clearInterval(sampler);
samples.push({ t: Date.now() - t0, ...treeStats(pooler.pid) });

const backendsWhileUp = await (async () => {
  const c = new pg.Client({ ...cfg, port: pgInst.port });
  await c.connect();
  const n = (
    await c.query(
      "select count(*)::int n from pg_stat_activity where datname = 'soak' and backend_type = 'client backend'",
    )
  ).rows[0].n;
  pooler.kill('SIGINT');
  await new Promise((r) => pooler.once('exit', r));
  await sleep(500);
  const after = (
    await c.query(
      "select count(*)::int n from pg_stat_activity where datname = 'soak' and backend_type = 'client backend'",
    )
  ).rows[0].n;
  await c.end();
  return { n, after };
})();
await pgInst.stop();
fs.rmSync(dir, { recursive: true, force: true });

// Growth is measured after warm-up (the first minute, or the first sixth of a short run):
// V8 heaps and socket buffers grow to their working size first.
const warmupMs = Math.min(60_000, (minutes * 60_000) / 6);
const steady = samples.filter((s) => s.t >= warmupMs);
const result = {
  minutes,
  children,
  clients,
  done,
  errors: Object.fromEntries(errors),
  rss_mb_start: +(samples[0].rss / 1048576).toFixed(1),
  rss_mb_end: +(samples.at(-1).rss / 1048576).toFixed(1),
  rss_mb_after_warmup: +((steady[0] ?? samples[0]).rss / 1048576).toFixed(1),
  rss_mb_growth_per_hour_after_warmup: +(slopePerHour(steady, 'rss') / 1048576).toFixed(1),
  fds_start: samples[0].fds,
  fds_end: samples.at(-1).fds,
  fds_growth_per_hour_after_warmup: +slopePerHour(steady, 'fds').toFixed(1),
  backend_connections_at_end: backendsWhileUp.n,
  backend_connections_allowed: children * maxPool,
  backend_connections_after_stop: backendsWhileUp.after,
  // RSS (MB) and fds over time, to tell warm-up from a leak
  samples: samples
    .filter((_, i) => i % 6 === 0 || i === samples.length - 1)
    .map((s) => `${Math.round(s.t / 1000)}s ${(s.rss / 1048576).toFixed(0)}MB ${s.fds}fd`),
};
console.log(JSON.stringify(result, null, 2));
const ok =
  result.errors &&
  Object.keys(result.errors).length === 0 &&
  backendsWhileUp.n <= children * maxPool &&
  backendsWhileUp.after === 0;
process.exit(ok ? 0 : 1);
