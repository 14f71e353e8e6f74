#!/usr/bin/env node
// Load balancing benchmark (issue 17's targets): a real primary and streaming standby on
// this machine; pgbench select-only and TPC-B through pgpool-ts with load balancing
// (streaming replication, weights 1:1), through pgpool-II configured the same, and through
// pgpool-ts in raw mode on the primary alone (the routing overhead). Targets alternate
// round by round; figures are medians. Pooler CPU per transaction from /proc; the
// classification cache hit rate from pgpool-ts's /metrics. `npm run build` first.
//   ROUNDS=2 DURATION=8 CLIENTS="8 32" node bench/cluster.mjs
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/dev/free-port.js';
import { queryAs, startReplicatedPair, waitUntil } from '../dist/dev/replicated-pair.js';
import { processTree, processUsage, TICKS_PER_SECOND } from './process-tree.mjs';
import { HOST, pgpool2Args, pgpool2Conf, pgpoolTsConf, stopDetached } from './targets.mjs';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (k, d) => process.env[k] ?? d;
const S = {
  rounds: Number(env('ROUNDS', 2)),
  duration: Number(env('DURATION', 8)),
  scale: Number(env('SCALE', 10)),
  clients: env('CLIENTS', '8 32').split(/\s+/).filter(Boolean).map(Number),
  tpcbClients: Number(env('TPCB_CLIENTS', 8)),
  targets: env('TARGETS', 'pgpool-ts-lb pgpool-ts-raw pgpool2-lb').split(/\s+/).filter(Boolean),
  // LB_WEIGHTS="0 1": every session routed over both nodes, its reads on the standby
  // (against target pgpool-ts-raw-standby, the relay's own cost of routing).
  weights: env('LB_WEIGHTS', '1 1').split(/\s+/).map(Number),
};
const log = (m) => process.stderr.write(`[cluster-bench] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function treeCpu(pid) {
  let cpu = 0;
  for (const p of processTree(pid)) {
    const u = processUsage(p);
    if (u) cpu += (u.user + u.system + u.children) / TICKS_PER_SECOND;
  }
  return cpu;
}

/** The two-node lines both poolers share: node 0 the primary, node 1 the standby, weights 1:1. */
function clusterLines(pair) {
  return [
    "backend_clustering_mode = 'streaming_replication'",
    `backend_hostname1 = '${HOST}'`,
    `backend_port1 = ${pair.standby.port}`,
    "backend_application_name1 = 'standby1'",
    `backend_weight0 = ${S.weights[0]}`,
    `backend_weight1 = ${S.weights[1]}`,
    'load_balance_mode = on',
    "sr_check_user = 'postgres'",
    'sr_check_period = 10',
  ];
}

/** A conf text with the raw-mode lines replaced by `lines`. */
const withCluster = (text, lines) =>
  text
    .split('\n')
    .filter((l) => !/^(backend_clustering_mode|load_balance_mode|sr_check_period) /.test(l))
    .concat(lines)
    .join('\n') + '\n';

async function startTarget(name, clients, pair) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cluster-bench-${name}-`));
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  const pgPort = name === 'pgpool-ts-raw-standby' ? pair.standby.port : pair.primary.port;
  const base = { dir, port, pcpPort: await freePort(), pgPort, clients, maxPool: 4 };
  let cmd;
  let args;
  let metricsPort;
  if (name === 'pgpool2-lb') {
    fs.writeFileSync(path.join(dir, 'pgpool.conf'), withCluster(pgpool2Conf(base), clusterLines(pair)));
    fs.writeFileSync(path.join(dir, 'pcp.conf'), '');
    fs.writeFileSync(path.join(dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
    [cmd, args] = pgpool2Args(dir);
  } else {
    metricsPort = await freePort();
    let text = pgpoolTsConf(base).replace('metrics_port = 0', `metrics_port = ${metricsPort}`);
    if (name === 'pgpool-ts-lb') text = withCluster(text, clusterLines(pair));
    // KEEP_DIRS: the kept log says who connected and left.
    const logLines = env('LOG_CONN', '') ? 'log_connections = on\nlog_disconnections = on\n' : '';
    // PGPOOL_TS_EXTRA: more pgpool.conf lines for pgpool-ts, separated by ';' (e.g. pool_mode = 'transaction').
    const extra = env('PGPOOL_TS_EXTRA', '').split(';').filter(Boolean).join('\n');
    fs.writeFileSync(
      path.join(dir, 'pgpool.conf'),
      `${text}metrics_listen_addresses = '127.0.0.1'\n${logLines}${extra}\n`,
    );
    // NODE_FLAGS (e.g. --cpu-prof --cpu-prof-dir=DIR): for pgpool-ts and its workers, which inherit them.
    const flags = env('NODE_FLAGS', '').split(/\s+/).filter(Boolean);
    [cmd, args] = [
      process.execPath,
      [...flags, path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')],
    ];
  }
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'stderr.log'), 'w')],
    detached: true,
  });
  const exited = new Promise((r) => proc.once('exit', r));
  const until = Date.now() + 30_000;
  for (;;) {
    const ok = await queryAs(port, 'SELECT 1', 'bench').then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      throw new Error(`${name} not ready:\n${fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8').slice(-2000)}`);
    }
    await sleep(200);
  }
  // Give the primary search and the first replication check their moment.
  await sleep(1500);
  return {
    name,
    port,
    pid: proc.pid,
    metricsPort,
    stop: async () => {
      // Profiled workers write their profiles only when they exit on their own: signal the supervisor alone then.
      await stopDetached(proc.pid, exited, name === 'pgpool2-lb' ? 'SIGINT' : 'SIGTERM', env('NODE_FLAGS', '') !== '');
      if (!env('KEEP_DIRS', '')) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgbench(port, args) {
  let stdout;
  try {
    ({ stdout } = await run(
      'pgbench',
      ['-h', HOST, '-p', String(port), '-U', 'postgres', '-n', '-T', String(S.duration), ...args, 'bench'],
      { timeout: (S.duration + 60) * 1000 },
    ));
  } catch (e) {
    // A failed run is reported, not fatal: the others still compare.
    const said = String(e.stderr || e.stdout || e.message)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    log(`pgbench failed (exit ${e.code}, signal ${e.signal}): ${said}`);
    return { tps: NaN, tx: NaN, failed: NaN };
  }
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const tx = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { tps, tx, failed };
}

async function classifications(metricsPort) {
  if (!metricsPort) return undefined;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const v = (r) =>
    Number(
      new RegExp(`^pgpool_ts_statement_classifications_total\\{result="${r}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
    );
  const routed = (n) =>
    Number(new RegExp(`^pgpool_ts_routed_requests_total\\{node="${n}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { cached: v('cached'), parsed: v('parsed'), node0: routed(0), node1: routed(1) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  log(`node ${process.version}, ${os.cpus().length} cores; rounds ${S.rounds} × ${S.duration} s`);
  const pair = await startReplicatedPair(await freePort(), await freePort(), {
    settings: { max_connections: 300, shared_buffers: "'256MB'" },
    init: async (port) => {
      await queryAs(port, 'CREATE DATABASE bench');
      await run(
        'pgbench',
        ['-h', HOST, '-p', String(port), '-U', 'postgres', '-i', '-q', '-s', String(S.scale), 'bench'],
        {
          timeout: 600_000,
        },
      );
    },
  });
  try {
    await waitUntil(
      pair.standby.port,
      'SELECT count(*) > 0 FROM pgbench_branches',
      'the standby to have the tables',
      'bench',
    );
    const workloads = [
      ...S.clients.map((c) => ({
        name: `select extended ${c}`,
        clients: c,
        args: ['-S', '-M', 'extended', '-c', String(c), '-j', '2'],
      })),
      ...S.clients.map((c) => ({
        name: `select prepared ${c}`,
        clients: c,
        args: ['-S', '-M', 'prepared', '-c', String(c), '-j', '2'],
      })),
      {
        name: `tpcb ${S.tpcbClients}`,
        clients: S.tpcbClients,
        args: ['-M', 'extended', '-c', String(S.tpcbClients), '-j', '2'],
      },
    ];
    const results = new Map(); // workload → target → [{tps, cpuUs}]
    const hits = new Map();
    for (let round = 0; round < S.rounds; round++) {
      const order = round % 2 === 0 ? S.targets : [...S.targets].reverse();
      for (const w of workloads) {
        for (const name of order) {
          const t = await startTarget(name, w.clients, pair);
          try {
            const cpu0 = treeCpu(t.pid);
            const r = await pgbench(t.port, w.args);
            const cpu = treeCpu(t.pid) - cpu0;
            const cpuUs = (cpu / r.tx) * 1e6;
            if (!results.has(w.name)) results.set(w.name, new Map());
            const byTarget = results.get(w.name);
            if (!byTarget.has(name)) byTarget.set(name, []);
            byTarget.get(name).push({ tps: r.tps, cpuUs, failed: r.failed });
            const c = await classifications(t.metricsPort);
            if (c && name === 'pgpool-ts-lb') hits.set(w.name, c);
            log(
              `round ${round + 1} ${w.name} ${name}: ${r.tps.toFixed(0)} tps, ${cpuUs.toFixed(0)} µs pooler CPU/tx, ${r.failed} failed`,
            );
          } finally {
            await t.stop();
          }
        }
      }
    }
    const lines = [
      `Load balancing over a primary and a streaming standby (node ${process.version}, ${os.cpus().length} cores, scale ${S.scale}, ${S.rounds} rounds × ${S.duration} s, medians)`,
      '',
      '| workload | ' +
        S.targets.map((t) => `${t} tps (µs CPU/tx)`).join(' | ') +
        ' | lb ÷ pgpool-II | lb ÷ raw | CPU lb ÷ raw | classification hits | reads node 0 / node 1 |',
      '| --- | ' + S.targets.map(() => '---:').join(' | ') + ' | ---: | ---: | ---: | ---: | --- |',
    ];
    for (const w of workloads) {
      const byTarget = results.get(w.name);
      const m = (t, k) => median((byTarget.get(t) ?? []).map((x) => x[k]));
      const c = hits.get(w.name);
      const rate = c ? `${((100 * c.cached) / Math.max(1, c.cached + c.parsed)).toFixed(2)} %` : '';
      lines.push(
        `| ${w.name} | ` +
          S.targets.map((t) => `${m(t, 'tps').toFixed(0)} (${m(t, 'cpuUs').toFixed(0)})`).join(' | ') +
          ` | ${(m('pgpool-ts-lb', 'tps') / m('pgpool2-lb', 'tps')).toFixed(2)}` +
          ` | ${(m('pgpool-ts-lb', 'tps') / m('pgpool-ts-raw', 'tps')).toFixed(2)}` +
          ` | ${(m('pgpool-ts-lb', 'cpuUs') / m('pgpool-ts-raw', 'cpuUs')).toFixed(2)}` +
          ` | ${rate} | ${c ? `${c.node0} / ${c.node1}` : ''} |`,
      );
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await pair.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
