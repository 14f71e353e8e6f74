#!/usr/bin/env node
// Where pgpool-ts spends its CPU: one workload (select-only prepared, TPC-B, connection
// churn, or idle) against a PostgreSQL started here, then per process (supervisor, each worker) the
// CPU microseconds per transaction (user and system, from /proc) and RSS. With CPU_PROF=1
// every process also runs under `node --cpu-prof`; for each profile the busiest functions
// are printed and a folded-stack file is written beside it (flamegraph.pl or speedscope
// draw it; the .cpuprofile itself opens as a flame chart in Chrome DevTools).
//
//   node bench/profile.mjs select|tpcb|churn|idle        (after npm run build)
//   env: SECS (10), CLIENTS (8), CHILDREN (num_init_children, default CLIENTS), SCALE (pgbench's, 10), WORKERS (worker_processes, default: as configured),
//        POOL_MODE (session|transaction), MAX_POOL (4), CPU_PROF=1, PROFILE_DIR (default: a new temporary directory), TOP (25)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { SMALL_YOUNG_GENERATION } from '../dist/node-flags.js';
import { processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workload = process.argv[2] ?? 'select';
if (!['select', 'tpcb', 'churn', 'idle'].includes(workload))
  throw new Error(`workload must be select, tpcb, churn or idle, not ${workload}`);
const secs = Number(process.env.SECS ?? 10);
const clients = Number(process.env.CLIENTS ?? 8);
const top = Number(process.env.TOP ?? 25);
const cpuProf = process.env.CPU_PROF === '1';
// Made only when profiling, so a plain run leaves no empty directory behind.
const profileDir = cpuProf
  ? (process.env.PROFILE_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-profile-')))
  : undefined;

const pgbench = (port, args) =>
  execFileSync('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

// ------------------------------------------------------------------ /proc accounting
/** user and system clock ticks and RSS (KB) of every process of the tree. */
function usage(pid) {
  const out = new Map();
  for (const p of processTree(pid)) {
    const u = processUsage(p);
    if (u) out.set(p, u);
  }
  return out;
}
const TICK_US = 1e6 / TICKS_PER_SECOND;

// ------------------------------------------------------------------ .cpuprofile summaries
const frameName = (n) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

/** The busiest functions (self and inclusive, as % of non-idle samples) and the folded stacks. */
function summarizeProfile(file) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (const s of prof.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const self = new Map();
  const inclusive = new Map();
  const folded = new Map();
  let busy = 0;
  for (const [id, count] of hits) {
    const name = frameName(byId.get(id));
    if (name.startsWith('(idle)')) continue;
    busy += count;
    self.set(name, (self.get(name) ?? 0) + count);
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) stack.push(frameName(byId.get(cur)));
    for (const f of new Set(stack)) inclusive.set(f, (inclusive.get(f) ?? 0) + count);
    const line = stack.reverse().join(';');
    folded.set(line, (folded.get(line) ?? 0) + count);
  }
  fs.writeFileSync(
    file.replace(/\.cpuprofile$/, '.folded'),
    [...folded].map(([k, v]) => `${k} ${v}`).join('\n') + '\n',
  );
  const ranked = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
  return { samples: prof.samples.length, busy, self: ranked(self), inclusive: ranked(inclusive) };
}

// ------------------------------------------------------------------ run
const pg = await startPostgres({ port: await freePort(), settings: { max_connections: 200, autovacuum: 'off' } });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-profile-run-'));
let pooler;
try {
  execFileSync('psql', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-qc', 'create database bench']);
  pgbench(pg.port, ['-i', '-s', String(process.env.SCALE ?? 10), '-q', 'bench']);
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'pgpool.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      `pid_file_name = '${dir}/pgpool.pid'`,
      "backend_hostname0 = '127.0.0.1'",
      `backend_port0 = ${pg.port}`,
      `pcp_port = ${await freePort()}`,
      `pcp_socket_dir = '${dir}'`,
      `num_init_children = ${process.env.CHILDREN ?? clients}`,
      `max_pool = ${process.env.MAX_POOL ?? 4}`,
      ...(process.env.POOL_MODE ? [`pool_mode = '${process.env.POOL_MODE}'`] : []),
      'child_life_time = 0',
      'metrics_port = 0',
      ...(process.env.WORKERS ? [`worker_processes = ${process.env.WORKERS}`] : []),
      '',
    ].join('\n'),
  );
  // As conf/pgpool-ts.service starts it, plus the profiler (workers inherit both).
  const nodeFlags = [SMALL_YOUNG_GENERATION, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  pooler = spawn(
    process.execPath,
    [...nodeFlags, path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'stderr.log'), 'w')] },
  );
  for (let i = 0; ; i++) {
    try {
      execFileSync(
        'psql',
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'bench', '-Atc', 'select 1'],
        { stdio: 'ignore' },
      );
      break;
    } catch (e) {
      if (i > 100)
        throw new Error(`pgpool-ts did not start: ${fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8')}`, {
          cause: e,
        });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const role = (pid) => (pid === pooler.pid ? 'supervisor' : `worker ${pid}`);
  if (workload === 'idle') {
    await new Promise((r) => setTimeout(r, 3000));
    let total = 0;
    for (const [pid, u] of usage(pooler.pid)) {
      total += u.rssKb;
      console.log(`${role(pid).padEnd(14)} RSS ${(u.rssKb / 1024).toFixed(1)} MB`);
    }
    console.log(`all processes  RSS ${(total / 1024).toFixed(1)} MB`);
  } else {
    const args = { select: ['-S', '-M', 'prepared'], tpcb: [], churn: ['-C', '-S'] }[workload];
    const threads = String(Math.min(2, clients));
    pgbench(port, ['-n', '-T', '2', ...args, '-c', String(clients), '-j', threads, 'bench']); // warm-up
    const before = usage(pooler.pid);
    const out = pgbench(port, ['-n', '-T', String(secs), ...args, '-c', String(clients), '-j', threads, 'bench']);
    const after = usage(pooler.pid);
    const tx = Number(/actually processed: (\d+)/.exec(out)[1]);
    console.log(`pgbench ${args.join(' ')} -c ${clients} -T ${secs}: ${Math.round(tx / secs)} tx/s`);
    let totalUs = 0;
    let totalRss = 0;
    for (const [pid, a] of after) {
      const b = before.get(pid);
      totalRss += a.rssKb;
      if (!b) continue;
      const userUs = ((a.user - b.user) * TICK_US) / tx;
      const systemUs = ((a.system - b.system) * TICK_US) / tx;
      totalUs += userUs + systemUs;
      console.log(
        `${role(pid).padEnd(14)} ${userUs.toFixed(1).padStart(6)} µs user + ${systemUs.toFixed(1).padStart(6)} µs system per transaction, RSS ${(a.rssKb / 1024).toFixed(1)} MB`,
      );
    }
    console.log(`all processes  ${totalUs.toFixed(1)} µs CPU per transaction, RSS ${(totalRss / 1024).toFixed(1)} MB`);
  }
} finally {
  if (pooler && pooler.exitCode === null) {
    pooler.kill('SIGTERM');
    await new Promise((r) => pooler.once('exit', r));
  }
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

if (cpuProf) {
  for (const file of fs
    .readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()) {
    const s = summarizeProfile(path.join(profileDir, file));
    console.log(
      `\n${file}: ${s.samples} samples, ${s.busy} not idle; self time, then inclusive, as % of the not-idle samples`,
    );
    console.log(s.self.join('\n'));
    console.log('  ---');
    console.log(s.inclusive.join('\n'));
  }
  console.log(`\nprofiles and folded stacks: ${profileDir}`);
}
