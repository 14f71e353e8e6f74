#!/usr/bin/env node
// Transaction pooling benchmark (docs/transaction-pooling.md): in one run, PostgreSQL
// directly, PgBouncer in transaction mode and pgpool-ts with pool_mode = transaction, both
// poolers holding POOL backend connections (16), measured with pgbench at many clients.
// Targets alternate round by round; figures are medians over rounds. Run after
// `npm run build`: `node bench/transaction.mjs` (ROUNDS, DURATION, POINTS, TARGETS, POOL to change;
// PGPOOL_TS_EXTRA: more pgpool.conf lines for pgpool-ts, separated by ';').
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';
import { HOST, startTxTarget } from './targets.mjs';

const run = promisify(execFile);
const env = (k, d) => process.env[k] ?? d;
const ROUNDS = Number(env('ROUNDS', 2));
const DURATION = Number(env('DURATION', 10));
const POOL = Number(env('POOL', 16));
const TARGETS = env('TARGETS', 'direct pgbouncer pgpool-ts').split(/\s+/);
// id: pgbench arguments; clients beyond max_connections are not run against direct.
const POINTS = env('POINTS', 'select-64 tpcb-64 select-1000 prepared-1000 select-10000').split(/\s+/);
const MAX_CONNECTIONS = 1100;
const log = (m) => process.stderr.write(`[tx-bench] ${m}\n`);

function pointArgs(id) {
  const [kind, n] = id.split('-');
  const c = Number(n);
  const base = ['-c', String(c), '-j', '2'];
  if (kind === 'select') return { clients: c, args: ['-S', '-M', 'extended', ...base] };
  if (kind === 'prepared') return { clients: c, args: ['-S', '-M', 'prepared', ...base] };
  return { clients: c, args: base };
}

function cpuOf(pid) {
  let cpu = 0;
  for (const p of processTree(pid)) {
    const u = processUsage(p);
    if (u) cpu += (u.user + u.system + u.children) / TICKS_PER_SECOND;
  }
  return cpu;
}

async function pgbench(port, args) {
  const full = ['-h', HOST, '-p', String(port), '-U', 'postgres', '-n', '-T', String(DURATION), ...args, 'bench'];
  try {
    const { stdout } = await run('pgbench', full, { timeout: (DURATION + 180) * 1000, maxBuffer: 1 << 26 });
    return {
      tps: Number(/tps = ([\d.]+)/.exec(stdout)?.[1]),
      tx: Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]),
      failed: Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0),
    };
  } catch (e) {
    return {
      tps: NaN,
      tx: 0,
      failed: NaN,
      error: String(e.stderr ?? e.message)
        .split('\n')
        .find(Boolean),
    };
  }
}

async function main() {
  const pg = await startPostgres({
    port: await freePort(),
    settings: { max_connections: MAX_CONNECTIONS, shared_buffers: "'256MB'", autovacuum: 'off' },
  });
  const results = [];
  try {
    await run('psql', ['-h', HOST, '-p', String(pg.port), '-U', 'postgres', '-c', 'CREATE DATABASE bench']);
    await run('pgbench', ['-h', HOST, '-p', String(pg.port), '-U', 'postgres', '-i', '-q', '-s', '10', 'bench']);
    for (let round = 0; round < ROUNDS; round++)
      for (const id of POINTS) {
        const { clients, args } = pointArgs(id);
        const order = round % 2 ? [...TARGETS].reverse() : TARGETS;
        for (const target of order) {
          if (target === 'direct' && clients > MAX_CONNECTIONS - 10) continue;
          const t = await startTxTarget(target, pg.port, {
            pool: POOL,
            extra: env('PGPOOL_TS_EXTRA', '').split(';').filter(Boolean),
          });
          try {
            await pgbench(t.port, [...args.slice(0, -4), '-c', String(Math.min(clients, 64)), '-j', '2']);
            const cpu0 = t.pid ? cpuOf(t.pid) : 0;
            const r = await pgbench(t.port, args);
            const cpu = t.pid ? cpuOf(t.pid) - cpu0 : NaN;
            log(`round ${round + 1} ${id} ${target}: ${r.tps} tps ${r.error ?? ''}`);
            results.push({ round, id, target, ...r, cpuUsPerTx: r.tx > 0 ? (cpu / r.tx) * 1e6 : NaN });
          } finally {
            await t.stop();
          }
        }
      }
  } finally {
    await pg.stop();
  }
  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, ${ROUNDS} rounds × ${DURATION} s, pool ${POOL} backend connections`,
    '',
    '| test | target | TPS (median) | × direct | × PgBouncer tx | pooler CPU µs/tx | failed tx | error |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const id of POINTS) {
    const tps = (t) => median(results.filter((r) => r.id === id && r.target === t).map((r) => r.tps));
    for (const target of TARGETS) {
      const rs = results.filter((r) => r.id === id && r.target === target);
      if (rs.length === 0) continue;
      lines.push(
        `| ${id} | ${target} | ${f(tps(target), 0)} | ${f(tps(target) / tps('direct'))} | ${f(tps(target) / tps('pgbouncer'))} | ${f(median(rs.map((r) => r.cpuUsPerTx)), 0)} | ${rs.reduce((n, r) => n + (r.failed || 0), 0)} | ${rs.find((r) => r.error)?.error ?? ''} |`,
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
