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
import os from 'node:os';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';
import { HOST, startTxTarget } from './targets.mjs';

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

/** Steady-state TPS and µs of CPU per transaction of the pooler, pgbench and the backends. */
async function measure(target, clients, pgPort) {
  const t = await startTxTarget(target, pgPort, { pool: POOL });
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
