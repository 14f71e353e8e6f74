#!/usr/bin/env node
// pgpool-ts benchmark harness: on one machine, in one run, PostgreSQL and in front of it
// pgpool-ts, PgBouncer (session mode) and pgpool-II, all as pure poolers (one backend,
// trust, no load balancing or health checks), measured with pgbench against each and
// against PostgreSQL directly. Targets alternate round by round (the machine is shared
// and noisy); every figure is a median over rounds, and ratios are taken to direct and to
// PgBouncer within the same round. Run with `npm run bench` (after `npm run build`); see
// bench/README.md for the settings.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { SMALL_YOUNG_GENERATION } from '../dist/node-flags.js';
import { processPssKb, processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';
import { roundOrder, summarize } from './summary.mjs';
import {
  HOST,
  PGBOUNCER,
  PGPOOL,
  pgbouncerSetup,
  pgpool2Args,
  pgpool2Conf,
  pgpoolTsConf,
  stopDetached,
} from './targets.mjs';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (k, d) => process.env[k] ?? d;
const list = (k, d) => env(k, d).split(/\s+/).filter(Boolean);

const S = {
  rounds: Number(env('ROUNDS', 3)),
  duration: Number(env('DURATION', 15)),
  warmup: Number(env('WARMUP', 2)),
  scale: Number(env('SCALE', 10)),
  suites: list('SUITES', 'select tpcb churn memory'),
  targets: list('TARGETS', 'direct pgbouncer pgpool2 pgpool-ts'),
  selectClients: list('SELECT_CLIENTS', '1 8 32 64').map(Number),
  selectModes: list('SELECT_MODES', 'simple extended prepared'),
  tpcbClients: Number(env('TPCB_CLIENTS', 32)),
  churnClients: Number(env('CHURN_CLIENTS', 8)),
  idleClients: Number(env('IDLE_CLIENTS', 10000)),
  memoryChildren: list('MEMORY_CHILDREN', '32 1000').map(Number),
  maxPool: Number(env('PGPOOL_MAX_POOL', 4)),
};
const PGBENCH = env('PGBENCH', 'pgbench');
// Target pgpool-ts-baseline: another built checkout of pgpool-ts (an older commit), measured
// in the same run as this one for before/after ratios.
const BASELINE = env('BASELINE', '');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[bench] ${m}\n`);

// ------------------------------------------------------------------ peers' packages
async function ensurePeers() {
  const need = [];
  if (S.targets.includes('pgbouncer') && !fs.existsSync(PGBOUNCER)) need.push('pgbouncer');
  if (S.targets.includes('pgpool2') && !fs.existsSync(PGPOOL)) need.push('pgpool2');
  if (need.length === 0) return;
  log(`installing ${need.join(' ')} with apt-get`);
  await run('apt-get', ['update', '-qq'], { timeout: 600_000 });
  await run('apt-get', ['install', '-y', '-qq', ...need], {
    timeout: 600_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

// ------------------------------------------------------------------ process accounting
function treeUsage(pid) {
  let cpu = 0;
  let rss = 0;
  for (const p of processTree(pid)) {
    const u = processUsage(p);
    if (!u) continue;
    cpu += (u.user + u.system + u.children) / TICKS_PER_SECOND;
    rss += u.rssKb * 1024;
  }
  return { cpu, rss };
}

// ------------------------------------------------------------------ targets
/** psql as postgres on `port` and `database`, with `args`. */
const psql = (port, database, args, options) =>
  run('psql', ['-h', HOST, '-p', String(port), '-U', 'postgres', '-d', database, ...args], options);

async function waitReady(port, ms = 30_000) {
  const t0 = Date.now();
  for (;;) {
    try {
      await psql(port, 'bench', ['-Atc', 'select 1'], {
        timeout: 5000,
        env: { ...process.env, PGCONNECT_TIMEOUT: '3' },
      });
      return;
    } catch (e) {
      if (Date.now() - t0 > ms) throw new Error(`target on port ${port} not ready: ${e.message}`, { cause: e });
      await sleep(200);
    }
  }
}

async function startTarget(name, clients, pg, extra = {}) {
  if (name === 'direct') return { name, port: pg.port, pid: undefined, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  let cmd;
  let args;
  if (name === 'pgbouncer') {
    const maxClients = Math.max(100, clients * 2, extra.maxClients ?? 0);
    [cmd, args] = pgbouncerSetup({ dir, port, pgPort: pg.port, poolMode: 'session', poolSize: clients, maxClients });
  } else if (name === 'pgpool2') {
    fs.writeFileSync(
      path.join(dir, 'pgpool.conf'),
      pgpool2Conf({ dir, port, pcpPort: await freePort(), pgPort: pg.port, clients, maxPool: S.maxPool }),
    );
    fs.writeFileSync(path.join(dir, 'pcp.conf'), '');
    fs.writeFileSync(path.join(dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
    [cmd, args] = pgpool2Args(dir);
  } else if (name === 'pgpool-ts' || name === 'pgpool-ts-baseline') {
    if (name === 'pgpool-ts-baseline' && !BASELINE)
      throw new Error('target pgpool-ts-baseline needs BASELINE=<checkout>');
    fs.writeFileSync(
      path.join(dir, 'pgpool.conf'),
      pgpoolTsConf({
        dir,
        port,
        pcpPort: await freePort(),
        pgPort: pg.port,
        clients,
        maxPool: S.maxPool,
        backlogMultiplier: Math.max(2, Math.ceil((extra.maxClients ?? 0) / clients)),
      }) + (extra.confLines ?? []).map((l) => `${l}\n`).join(''),
    );

    // As conf/pgpool-ts.service and the Dockerfile start it: with the small young generation.
    [cmd, args] = [
      extra.nodeBinary ?? process.execPath,
      [
        SMALL_YOUNG_GENERATION,
        path.join(name === 'pgpool-ts' ? root : BASELINE, 'bin/pgpool-ts.js'),
        '-n',
        '-f',
        path.join(dir, 'pgpool.conf'),
      ],
    ];
  } else throw new Error(`unknown target ${name}`);
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'stderr.log'), 'w')],
    detached: true,
  });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await waitReady(port);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${name}: ${e.message}\n${fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8').slice(-2000)}`, {
      cause: e,
    });
  }
  return {
    name,
    port,
    pid: proc.pid,
    stop: async () => {
      await stopDetached(proc.pid, exited, name === 'pgpool2' ? 'SIGINT' : 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ one measurement
async function pgbench(port, args, seconds) {
  const full = ['-h', HOST, '-p', String(port), '-U', 'postgres', '-n', '-T', String(seconds), ...args, 'bench'];
  const { stdout } = await run(PGBENCH, full, { timeout: (seconds + 120) * 1000, maxBuffer: 1 << 24 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const tx = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { tps, tx, failed, command: `pgbench ${full.join(' ')}` };
}

async function measure(target, point, pg) {
  const t = await startTarget(target, point.clients, pg);
  try {
    if (S.warmup > 0) await pgbench(t.port, point.args, S.warmup).catch(() => undefined);
    const before = t.pid ? treeUsage(t.pid) : undefined;
    let peakRss = before?.rss ?? 0;
    const sampler = t.pid
      ? setInterval(() => {
          peakRss = Math.max(peakRss, treeUsage(t.pid).rss);
        }, 500)
      : undefined;
    const r = await pgbench(t.port, point.args, S.duration);
    if (sampler) clearInterval(sampler);
    const after = t.pid ? treeUsage(t.pid) : undefined;
    const cpu = before && after ? after.cpu - before.cpu : NaN;
    return {
      ...r,
      rssMb: t.pid ? peakRss / 1048576 : NaN,
      cpuPer10k: Number.isFinite(cpu) && r.tx > 0 ? (cpu / r.tx) * 10000 : NaN,
    };
  } finally {
    await t.stop();
  }
}

function points() {
  const out = [];
  const threads = (c) => String(Math.min(c, 2));
  if (S.suites.includes('select'))
    for (const mode of S.selectModes)
      for (const c of S.selectClients)
        out.push({
          id: `select -M ${mode} c=${c}`,
          clients: c,
          args: ['-S', '-M', mode, '-c', String(c), '-j', threads(c)],
        });
  if (S.suites.includes('tpcb'))
    out.push({ id: `tpcb c=${S.tpcbClients}`, clients: S.tpcbClients, args: ['-c', String(S.tpcbClients), '-j', '2'] });
  if (S.suites.includes('churn'))
    out.push({
      id: `churn -C -S c=${S.churnClients}`,
      clients: S.churnClients,
      args: ['-C', '-S', '-c', String(S.churnClients), '-j', '2'],
    });
  return out;
}

// ------------------------------------------------------------------ memory
/** RSS and PSS (MB) of a target's whole process tree. */
function treeMemory(pid) {
  let rssKb = 0;
  let pssKb = 0;
  for (const p of processTree(pid)) {
    rssKb += processUsage(p)?.rssKb ?? 0;
    pssKb += processPssKb(p);
  }
  return { rssMb: rssKb / 1024, pssMb: pssKb / 1024 };
}

/**
 * Memory of pgpool-II and pgpool-ts: for each of MEMORY_CHILDREN, idle and after a
 * select-only load of min(children, 64) clients (every child pgpool-II forks has then
 * served, and pgpool-ts's children hold backend connections); then pgpool-ts with 32
 * children busy and IDLE_CLIENTS clients waiting for one.
 */
async function poolerMemory(pg) {
  const sweep = [];
  const poolers = S.targets.filter((t) => t === 'pgpool-ts' || t === 'pgpool2');
  // The pooler runs from its own copy of the node binary: the harness (node too) would
  // otherwise share the binary's 40 MB of text pages and take a quarter of them off the
  // pooler's PSS.
  const nodeCopy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-')), 'node');
  fs.copyFileSync(process.execPath, nodeCopy);
  fs.chmodSync(nodeCopy, 0o755);
  const variants = poolers.flatMap((name) =>
    name === 'pgpool-ts'
      ? [
          { name, label: name, extra: { nodeBinary: nodeCopy } },
          { name, label: 'pgpool-ts, 1 worker', extra: { nodeBinary: nodeCopy, confLines: ['worker_processes = 1'] } },
        ]
      : [{ name, label: name, extra: {} }],
  );
  try {
    for (const children of S.memoryChildren) {
      for (const { name, label, extra } of variants) {
        const t = await startTarget(name, children, pg, extra);
        try {
          await sleep(1500);
          const idle = treeMemory(t.pid);
          const load = Math.min(children, 64);
          await pgbench(t.port, ['-S', '-c', String(load), '-j', '2'], 4);
          await sleep(1000);
          const processes = processTree(t.pid).length;
          sweep.push({ name: label, children, load, idle, loaded: treeMemory(t.pid), processes });
          log(`memory ${label} ${children} children: ${JSON.stringify(sweep.at(-1))}`);
        } finally {
          await t.stop();
        }
      }
    }
  } finally {
    fs.rmSync(path.dirname(nodeCopy), { recursive: true, force: true });
  }
  let waiting;
  if (poolers.includes('pgpool-ts')) {
    const t = await startTarget('pgpool-ts', 32, pg, { maxClients: S.idleClients });
    try {
      await sleep(1000);
      const before = treeMemory(t.pid);
      // Hold every child, then connect IDLE_CLIENTS more that wait with their startup packet sent.
      const startup = Buffer.from('\0\0\0\0\0\x03\0\0user\0postgres\0database\0bench\0\0');
      startup.writeInt32BE(startup.length, 0);
      const held = [];
      for (let i = 0; i < 32 + S.idleClients; i++) {
        const s = net.connect(t.port, HOST);
        s.on('error', () => {});
        s.on('connect', () => s.write(startup));
        held.push(s);
        if (i % 500 === 499) await sleep(100);
      }
      await sleep(3000);
      const after = treeMemory(t.pid);
      waiting = {
        before,
        after,
        clients: S.idleClients,
        kbPerClient: ((after.rssMb - before.rssMb) * 1024) / S.idleClients,
      };
      for (const s of held) s.destroy();
    } finally {
      await t.stop();
    }
  }
  return { sweep, waiting };
}

// ------------------------------------------------------------------ main
async function main() {
  await ensurePeers();
  const pg = await startPostgres({
    port: await freePort(),
    settings: { max_connections: 1100, shared_buffers: "'256MB'", autovacuum: 'off' },
  });
  const results = [];
  let memory;
  try {
    await psql(pg.port, 'postgres', ['-c', 'CREATE DATABASE bench']);
    log(`pgbench -i -s ${S.scale}`);
    await run(
      PGBENCH,
      ['-h', HOST, '-p', String(pg.port), '-U', 'postgres', '-i', '-q', '-s', String(S.scale), 'bench'],
      { timeout: 600_000 },
    );
    const pts = points();
    for (let round = 0; round < S.rounds; round++) {
      for (const point of pts) {
        for (const target of roundOrder(S.targets, round)) {
          if (point.id.startsWith('tpcb'))
            await psql(pg.port, 'bench', [
              '-q',
              '-c',
              'VACUUM pgbench_branches, pgbench_tellers',
              '-c',
              'TRUNCATE pgbench_history',
            ]);
          log(`round ${round + 1}/${S.rounds} ${point.id} ${target}`);
          try {
            results.push({ round, point: point.id, target, ...(await measure(target, point, pg)) });
          } catch (e) {
            log(`  failed: ${e.message.split('\n')[0]}`);
            results.push({ round, point: point.id, target, error: e.message.split('\n')[0] });
          }
        }
      }
    }
    if (S.suites.includes('memory')) memory = await poolerMemory(pg);
  } finally {
    await pg.stop();
  }
  return report(results, memory);
}

function memoryTables({ sweep, waiting }, f) {
  const pss = (name, children) => sweep.find((m) => m.name === name && m.children === children)?.loaded.pssMb;
  const lines = [
    '',
    '| pooler | children | processes | RSS idle (MB) | PSS idle (MB) | after load: clients | RSS (MB) | PSS (MB) | PSS ÷ pgpool-II |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...sweep.map(
      (m) =>
        `| ${m.name} | ${m.children} | ${m.processes} | ${f(m.idle.rssMb, 1)} | ${f(m.idle.pssMb, 1)} | ${m.load} | ${f(m.loaded.rssMb, 1)} | ${f(m.loaded.pssMb, 1)} | ${f(m.loaded.pssMb / pss('pgpool2', m.children))} |`,
    ),
  ];
  if (waiting)
    lines.push(
      '',
      '| pooler | RSS, 32 children (MB) | RSS with waiting clients (MB) | waiting clients | KB per waiting client |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| pgpool-ts | ${f(waiting.before.rssMb, 1)} | ${f(waiting.after.rssMb, 1)} | ${waiting.clients} | ${f(waiting.kbPerClient, 2)} |`,
    );
  return lines.join('\n');
}

function report(results, memory) {
  const rows = summarize(results, S.targets);
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const table = [
    '| test | target | TPS (median) | × direct | × PgBouncer | × pgpool-II | pooler CPU s / 10k tx | pooler RSS MB | failed tx | failed runs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.point} | ${r.target} | ${f(r.tps, 0)} | ${f(r.vsDirect)} | ${f(r.vsPgbouncer)} | ${f(r.vsPgpool2)} | ${f(r.cpuPer10k, 3)} | ${f(r.rssMb, 1)} | ${r.failed} | ${r.errors} |`,
    ),
  ].join('\n');
  const memTable = memory ? memoryTables(memory, f) : '';
  const meta = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
    node: process.version,
    settings: S,
    commands: [...new Set(results.filter((r) => r.command).map((r) => r.command.replace(/-p \d+/, '-p PORT')))],
  };
  return { meta, rows, memory, results, table: (rows.length > 0 ? table + '\n' : '') + memTable + '\n' };
}

const out = await main();
process.stdout.write(out.table);
const dir = path.join(root, 'bench/results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${out.meta.date.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, JSON.stringify(out, null, 2));
log(`results: ${file}`);
if (env('BENCH_WRITE_RESULTS', '1') === '1') {
  const md = [
    '# Benchmark results',
    '',
    `Latest run: ${out.meta.date} on ${out.meta.machine}, Node ${out.meta.node}.`,
    `Settings: ${JSON.stringify(out.meta.settings)}.`,
    '',
    "Commands (PORT is the target's port; each target is started fresh for each run):",
    '',
    ...out.meta.commands.map((c) => `    ${c}`),
    '',
    out.table,
  ].join('\n');
  // Everything from the KEPT marker on (the optimisation record) survives a new run.
  const KEPT = '<!-- kept across runs: optimisation record -->';
  const prev = fs.existsSync(path.join(root, 'bench/RESULTS.md'))
    ? fs.readFileSync(path.join(root, 'bench/RESULTS.md'), 'utf8')
    : '';
  const kept = prev.includes(KEPT) ? prev.slice(prev.indexOf(KEPT)) : `${KEPT}\n`;
  fs.writeFileSync(path.join(root, 'bench/RESULTS.md'), `${md}\n${kept}`);
  log('bench/RESULTS.md updated');
}
