#!/usr/bin/env node
// Where a transaction's CPU goes on this machine, in steady state: per transaction, the
// pooler's, pgbench's and the PostgreSQL backends' CPU (µs, /proc) over a window in the
// middle of a pgbench run (connections made, nothing starting or stopping), for PostgreSQL
// directly, PgBouncer in transaction mode, pgpool-ts with pool_mode = transaction, and the
// no-pooling Node relay of bench/node-floor-relay.mjs. On a machine whose cores the three
// share, TPS ≈ cores ÷ (the three summed), so this says which share a pooler's own cost
// decides. Run after `npm run build`:
//   node bench/cpu-split.mjs        (CLIENTS '64 1000', TARGETS, SECS (20), POOL (16))
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { SMALL_YOUNG_GENERATION } from '../dist/node-flags.js';
import { processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';
import { HOST, pgbouncerSetup, pgpoolTsConf, stopDetached } from './targets.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (k, d) => process.env[k] ?? d;
const CLIENTS = env('CLIENTS', '64 1000').split(/\s+/).map(Number);
const TARGETS = env('TARGETS', 'direct pgbouncer pgpool-ts node-floor').split(/\s+/);
const SECS = Number(env('SECS', 20));
const POOL = Number(env('POOL', 16));
const WINDOW_S = Math.max(4, SECS / 2 - 2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of the processes (with their descendants when `tree`). */
function cpuSeconds(pids, tree) {
  let ticks = 0;
  for (const p of pids)
    for (const q of tree ? processTree(p) : [p]) {
      const u = processUsage(q);
      if (u) ticks += u.user + u.system;
    }
  return ticks / TICKS_PER_SECOND;
}

const backends = () =>
  execFileSync('pgrep', ['-u', 'postgres', '-x', 'postgres'], { encoding: 'utf8' }).trim().split('\n').map(Number);

async function startTarget(name, pgPort) {
  if (name === 'direct') return { port: pgPort, pid: undefined, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cpu-split-${name}-`));
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  let cmd;
  let args;
  if (name === 'pgbouncer') {
    const ini = { dir, port, pgPort, poolMode: 'transaction', poolSize: POOL, maxClients: 20000, backlog: 4096 };
    [cmd, args] = pgbouncerSetup(ini);
  } else if (name === 'pgpool-ts') {
    const conf = pgpoolTsConf({ dir, port, pcpPort: await freePort(), pgPort, clients: POOL, maxPool: 1 });
    fs.writeFileSync(path.join(dir, 'pgpool.conf'), `${conf}pool_mode = 'transaction'\nmax_client_conn = 20000\n`);
    [cmd, args] = [
      process.execPath,
      [SMALL_YOUNG_GENERATION, path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')],
    ];
  } else {
    [cmd, args] = [process.execPath, [path.join(root, 'bench/node-floor-relay.mjs'), String(port), String(pgPort)]];
  }
  const proc = spawn(cmd, args, { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => proc.once('exit', r));
  for (let t0 = Date.now(); ; await sleep(200)) {
    try {
      execFileSync('psql', ['-h', HOST, '-p', String(port), '-U', 'postgres', '-d', 'bench', '-Atc', 'select 1'], {
        stdio: 'ignore',
      });
      break;
    } catch (e) {
      if (Date.now() - t0 > 30_000) throw e;
    }
  }
  return {
    port,
    pid: proc.pid,
    stop: async () => {
      await stopDetached(proc.pid, exited, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Steady-state TPS and µs of CPU per transaction of the pooler, pgbench and the backends. */
async function measure(target, clients, pgPort) {
  const t = await startTarget(target, pgPort);
  try {
    const bench = spawn(
      'pgbench',
      ['-h', HOST, '-p', String(t.port), '-U', 'postgres', '-n', '-T', String(SECS), '-P', '1'].concat([
        '-S',
        '-M',
        'extended',
        '-c',
        String(clients),
        '-j',
        '2',
        'bench',
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let progress = '';
    bench.stderr.on('data', (d) => (progress += d));
    const done = new Promise((r) => bench.once('exit', r));
    await sleep((SECS / 2 - WINDOW_S / 2) * 1000);
    const groups = () => [
      t.pid ? cpuSeconds([t.pid], true) : 0,
      cpuSeconds([bench.pid], false),
      cpuSeconds(backends(), false),
    ];
    const before = groups();
    const mark = progress.length;
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const after = groups();
    const secs = (performance.now() - t0) / 1000;
    await done;
    const tps = [...progress.slice(mark).matchAll(/progress: [\d.]+ s, ([\d.]+) tps/g)].map((m) => Number(m[1]));
    const mean = tps.reduce((a, b) => a + b, 0) / tps.length;
    const perTx = after.map((a, i) => ((a - before[i]) / secs / mean) * 1e6);
    return { target, clients, tps: mean, pooler: perTx[0], pgbench: perTx[1], postgres: perTx[2] };
  } finally {
    await t.stop();
  }
}

const pg = await startPostgres({
  port: await freePort(),
  settings: { max_connections: 1100, shared_buffers: "'256MB'", autovacuum: 'off' },
});
const rows = [];
try {
  execFileSync('psql', ['-h', HOST, '-p', String(pg.port), '-U', 'postgres', '-c', 'CREATE DATABASE bench']);
  execFileSync('pgbench', ['-h', HOST, '-p', String(pg.port), '-U', 'postgres', '-i', '-q', '-s', '10', 'bench'], {
    stdio: 'ignore',
  });
  for (const c of CLIENTS)
    for (const target of TARGETS) {
      const r = await measure(target, c, pg.port);
      process.stderr.write(`[cpu-split] ${target} ${c} clients: ${r.tps.toFixed(0)} tps\n`);
      rows.push(r);
    }
} finally {
  await pg.stop();
}
const f = (x) => (Number.isFinite(x) && x > 0 ? x.toFixed(1) : '–');
console.log(
  `Node ${process.version}, ${os.cpus().length} cores, pgbench -S -M extended -j 2, ${POOL} backend connections for the poolers`,
);
console.log('| clients | target | TPS | pooler µs/tx | pgbench µs/tx | backends µs/tx | sum µs/tx |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows)
  console.log(
    `| ${r.clients} | ${r.target} | ${r.tps.toFixed(0)} | ${f(r.pooler)} | ${f(r.pgbench)} | ${f(r.postgres)} | ${f(r.pooler + r.pgbench + r.postgres)} |`,
  );
