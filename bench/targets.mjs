// How the bench scripts configure, start and stop the poolers they compare: pgpool-II and
// pgpool-ts as pure poolers in front of one PostgreSQL (raw mode, no health check, no load
// balancing), trust authentication.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/dev/free-port.js';
import { SMALL_YOUNG_GENERATION } from '../dist/node-flags.js';

export const HOST = '127.0.0.1';
export const PGPOOL = process.env.PGPOOL ?? '/usr/sbin/pgpool';

/** PgBouncer and pgpool-II refuse root: run them as the postgres user. */
export const asPostgres = (cmd, args) =>
  process.getuid?.() === 0
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]]
    : [cmd, args];

export const PGBOUNCER = process.env.PGBOUNCER ?? '/usr/sbin/pgbouncer';

/**
 * Writes pgbouncer.ini (trust authentication, database `bench`) and its users file into
 * `dir`; returns PgBouncer's command line.
 */
export function pgbouncerSetup({ dir, port, pgPort, poolMode, poolSize, maxClients, backlog }) {
  const ini = [
    '[databases]',
    `bench = host=${HOST} port=${pgPort} dbname=bench`,
    '[pgbouncer]',
    `listen_addr = ${HOST}`,
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${dir}/users.txt`,
    `pool_mode = ${poolMode}`,
    `default_pool_size = ${poolSize}`,
    `max_client_conn = ${maxClients}`,
    ...(backlog ? [`listen_backlog = ${backlog}`] : []),
    `logfile = ${dir}/pgbouncer.log`,
    `pidfile = ${dir}/pgbouncer.pid`,
    '',
  ];
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), ini.join('\n'));
  fs.writeFileSync(path.join(dir, 'users.txt'), '"postgres" ""\n');
  return asPostgres(PGBOUNCER, [path.join(dir, 'pgbouncer.ini')]);
}

/** pgpool-II's pgpool.conf, and its command line (pcp.conf and pool_hba.conf beside it). */
export function pgpool2Conf({ dir, port, pcpPort, pgPort, clients, maxPool }) {
  return [
    "backend_clustering_mode = 'raw'",
    `listen_addresses = '${HOST}'`,
    `port = ${port}`,
    `pcp_port = ${pcpPort}`,
    // pgpool-II 4.3 (Debian 12) knows socket_dir; newer releases unix_socket_directories.
    `socket_dir = '${dir}'`,
    `unix_socket_directories = '${dir}'`,
    `pcp_socket_dir = '${dir}'`,
    `pid_file_name = '${dir}/pgpool.pid'`,
    `logdir = '${dir}'`,
    `backend_hostname0 = '${HOST}'`,
    `backend_port0 = ${pgPort}`,
    'load_balance_mode = off',
    'health_check_period = 0',
    'sr_check_period = 0',
    'failover_on_backend_error = off',
    'connection_cache = on',
    `num_init_children = ${clients}`,
    `max_pool = ${maxPool}`,
    'child_life_time = 0',
    'enable_pool_hba = off',
    "pool_passwd = ''",
    'memqcache_total_size = 1MB',
    'memqcache_max_num_cache = 1000',
    '',
  ].join('\n');
}

export function pgpool2Args(dir) {
  return asPostgres(PGPOOL, [
    '-n',
    '-D',
    '-f',
    path.join(dir, 'pgpool.conf'),
    '-F',
    path.join(dir, 'pcp.conf'),
    '-a',
    path.join(dir, 'pool_hba.conf'),
  ]);
}

/** pgpool-ts's pgpool.conf for the same set-up. */
export function pgpoolTsConf({ dir, port, pcpPort, pgPort, clients, maxPool, backlogMultiplier = 2 }) {
  return [
    "backend_clustering_mode = 'raw'",
    `listen_addresses = '${HOST}'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `pid_file_name = '${dir}/pgpool.pid'`,
    // pgpool_status in the run's directory, not /tmp's.
    `work_dir = '${dir}'`,
    `backend_hostname0 = '${HOST}'`,
    `backend_port0 = ${pgPort}`,
    `pcp_port = ${pcpPort}`,
    `pcp_socket_dir = '${dir}'`,
    `num_init_children = ${clients}`,
    `max_pool = ${maxPool}`,
    'child_life_time = 0',
    'metrics_port = 0',
    `listen_backlog_multiplier = ${backlogMultiplier}`,
    '',
  ].join('\n');
}

/**
 * Stops a target started detached (its own process group): `signal` to `pid` (the group,
 * unless `leaderOnly`), SIGKILL to the group after 10 s; resolves when it has exited.
 */
export async function stopDetached(pid, exited, signal, leaderOnly = false) {
  const kill = (target, sig) => {
    try {
      process.kill(target, sig);
    } catch {
      /* gone */
    }
  };
  kill(leaderOnly ? pid : -pid, signal);
  const t = setTimeout(() => kill(-pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runFile = promisify(execFile);

/** Resolves once `select 1` through `port` works (database bench), within 30 s. */
async function ready(port) {
  for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    try {
      await runFile('psql', ['-h', HOST, '-p', String(port), '-U', 'postgres', '-d', 'bench', '-Atc', 'select 1'], {
        timeout: 5000,
      });
      return;
    } catch (e) {
      if (Date.now() - t0 > 30_000) throw e;
    }
  }
}

/**
 * A transaction-pooling bench target in front of PostgreSQL on `pgPort`, started and ready:
 * `direct`, `pgbouncer` (transaction mode), `pgpool-ts` (pool_mode = transaction, `extra`
 * more pgpool.conf lines) with `pool` backend connections, or `node-floor`
 * (bench/node-floor-relay.mjs). Returns its port, pid and stop().
 */
export async function startTxTarget(name, pgPort, { pool, extra = [] }) {
  if (name === 'direct') return { port: pgPort, pid: undefined, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `txbench-${name}-`));
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  let cmd;
  let args;
  if (name === 'pgbouncer') {
    const ini = { dir, port, pgPort, poolMode: 'transaction', poolSize: pool, maxClients: 20000, backlog: 4096 };
    [cmd, args] = pgbouncerSetup(ini);
  } else if (name === 'pgpool-ts') {
    const conf = pgpoolTsConf({ dir, port, pcpPort: await freePort(), pgPort, clients: pool, maxPool: 1 });
    const lines = ["pool_mode = 'transaction'", 'max_client_conn = 20000', ...extra, ''];
    fs.writeFileSync(path.join(dir, 'pgpool.conf'), conf + lines.join('\n'));
    [cmd, args] = [
      process.execPath,
      [SMALL_YOUNG_GENERATION, path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')],
    ];
  } else if (name === 'node-floor') {
    [cmd, args] = [process.execPath, [path.join(root, 'bench/node-floor-relay.mjs'), String(port), String(pgPort)]];
  } else throw new Error(`unknown target ${name}`);
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'stderr.log'), 'w')],
    detached: true,
  });
  const exited = new Promise((r) => proc.once('exit', r));
  await ready(port);
  return {
    port,
    pid: proc.pid,
    stop: async () => {
      await stopDetached(proc.pid, exited, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
