// A real Patroni cluster on loopback for the tests and the soak script: one etcd (Debian's
// etcd-server) and Patroni members (Debian's patroni) running Debian's PostgreSQL, each
// member its own data directory, REST port and PostgreSQL port. Development only.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { ensureOwner } from './postgres-instance.js';
import { queryAs } from './replicated-pair.js';

export interface PatroniMember {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly restUrl: string;
  /** Kills the member outright: its Patroni (SIGKILL) and then its PostgreSQL (immediate). */
  kill(): Promise<void>;
  /** Starts its Patroni again (it rejoins as a replica, rewinding or re-cloning as needed). */
  restart(): void;
  /** Freezes its Patroni (SIGSTOP): the REST API stops answering, PostgreSQL goes on. */
  pause(): void;
  /** Lets a paused Patroni go on (SIGCONT). */
  resume(): void;
}

export interface PatroniCluster {
  readonly members: readonly PatroniMember[];
  readonly ttl: number;
  readonly loopWait: number;
  /** GET /cluster from the first member that answers. */
  cluster(): Promise<{ members: { name: string; role: string; state: string; port: number }[] }>;
  /** What etcd and every member logged so far (for a failing test). */
  logs(): string;
  /** Waits until one member leads and every other one streams; the leader. */
  settled(timeoutMs?: number): Promise<PatroniMember>;
  stop(): Promise<void>;
}

/** Debian's PostgreSQL binaries (the newest installed major version). */
function debianBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /^\d+$/.test(d)) : [];
  const bin = majors.sort((a, b) => Number(b) - Number(a)).map((m) => path.join(root, m, 'bin'))[0];
  if (!bin || !fs.existsSync(path.join(bin, 'pg_basebackup')))
    throw new Error('Debian PostgreSQL (postgresql-NN) is needed for Patroni: apt-get install postgresql');
  return bin;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPatroniCluster(
  opts: { members?: number; ttl?: number; loopWait?: number; retryTimeout?: number; synchronousMode?: boolean } = {},
): Promise<PatroniCluster> {
  const count = opts.members ?? 2;
  const ttl = opts.ttl ?? 10;
  const loopWait = opts.loopWait ?? 1;
  const retryTimeout = opts.retryTimeout ?? 3;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-patroni-'));
  fs.chmodSync(base, 0o755);
  const owner = await ensureOwner();
  const own = (p: string) => owner && fs.chownSync(p, owner.uid, owner.gid);
  const bin = debianBinDir();
  const procs: ChildProcess[] = [];
  const logOf = (name: string) => fs.openSync(path.join(base, `${name}.log`), 'a');

  const etcdClient = await freePort();
  const etcdPeer = await freePort();
  const etcdDir = path.join(base, 'etcd');
  const etcd = spawn(
    'etcd',
    [
      '--name=etcd0',
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=etcd0=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls=',
    ],
    { stdio: ['ignore', logOf('etcd'), logOf('etcd')] },
  );
  procs.push(etcd);

  const scope = `pgpool-ts-${process.pid}-${Date.now()}`;
  const members: PatroniMember[] = [];
  const patronis = new Map<string, ChildProcess>();
  for (let i = 0; i < count; i++) {
    const name = `m${i}`;
    const port = await freePort();
    const rest = await freePort();
    const dir = path.join(base, name);
    fs.mkdirSync(dir, { mode: 0o700 });
    own(dir);
    const socketDir = path.join(base, `${name}-sock`);
    fs.mkdirSync(socketDir, { mode: 0o1777 });
    fs.chmodSync(socketDir, 0o1777);
    const dataDir = path.join(dir, 'data');
    const yml = path.join(base, `${name}.yml`);
    fs.writeFileSync(
      yml,
      [
        `scope: ${scope}`,
        `name: ${name}`,
        'log: {level: INFO}',
        `restapi: {listen: "127.0.0.1:${rest}", connect_address: "127.0.0.1:${rest}"}`,
        `etcd3: {hosts: "127.0.0.1:${etcdClient}"}`,
        'bootstrap:',
        '  dcs:',
        `    ttl: ${ttl}`,
        `    loop_wait: ${loopWait}`,
        `    retry_timeout: ${retryTimeout}`,
        '    maximum_lag_on_failover: 104857600',
        `    synchronous_mode: ${opts.synchronousMode ? 'true' : 'false'}`,
        '    postgresql: {use_pg_rewind: true, parameters: {wal_log_hints: "on", fsync: "off", max_connections: 100}}',
        '  initdb: [{encoding: UTF8}, {locale: C}]',
        '  pg_hba: ["local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"]',
        'postgresql:',
        `  listen: "127.0.0.1:${port}"`,
        `  connect_address: "127.0.0.1:${port}"`,
        `  data_dir: ${dataDir}`,
        `  bin_dir: ${bin}`,
        `  pgpass: ${path.join(dir, 'pgpass')}`,
        '  authentication:',
        '    superuser: {username: postgres, password: postgres}',
        '    replication: {username: postgres, password: postgres}',
        `  parameters: {unix_socket_directories: "${socketDir}"}`,
        '  remove_data_directory_on_rewind_failure: true',
        '  remove_data_directory_on_diverged_timelines: true',
        '',
      ].join('\n'),
    );
    const start = () => {
      const p = spawn('patroni', [yml], {
        stdio: ['ignore', logOf(name), logOf(name)],
        env: { ...process.env, HOME: dir },
        ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      });
      procs.push(p);
      patronis.set(name, p);
    };
    start();
    members.push({
      name,
      host: '127.0.0.1',
      port,
      restUrl: `http://127.0.0.1:${rest}`,
      restart: start,
      pause: () => patronis.get(name)!.kill('SIGSTOP'),
      resume: () => patronis.get(name)!.kill('SIGCONT'),
      kill: async () => {
        const p = patronis.get(name)!;
        p.kill('SIGCONT');
        p.kill('SIGKILL');
        await exited(p);
        const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        try {
          // SIGQUIT is PostgreSQL's immediate shutdown.
          process.kill(pid, 'SIGQUIT');
        } catch {
          // already gone
        }
        for (let t = 0; t < 100 && fs.existsSync(path.join(dataDir, 'postmaster.pid')); t++) await sleep(100);
      },
    });
    // The first member bootstraps alone, so that it is the first leader.
    if (i === 0) await waitFor(async () => (await getJson(`http://127.0.0.1:${rest}/leader`)) !== undefined, 150_000);
  }

  const cluster = async () => {
    for (const m of members) {
      const j = await getJson(`${m.restUrl}/cluster`);
      if (j) return j as Awaited<ReturnType<PatroniCluster['cluster']>>;
    }
    throw new Error('no Patroni member answers');
  };
  return {
    members,
    ttl,
    loopWait,
    cluster,
    logs: () =>
      ['etcd', ...members.map((m) => m.name)]
        .map((n) => `== ${n}\n${fs.readFileSync(path.join(base, `${n}.log`), 'utf8').slice(-4000)}`)
        .join('\n'),
    settled: async (timeoutMs = 120_000) => {
      let leader: PatroniMember | undefined;
      await waitFor(async () => {
        const c = await cluster().catch(() => undefined);
        if (!c || c.members.length !== count) return false;
        const l = c.members.find((m) => m.role === 'leader' && m.state === 'running');
        const others = c.members.filter((m) => m !== l);
        leader = members.find((m) => m.name === l?.name);
        if (leader === undefined || !others.every((m) => m.state === 'streaming' || m.state === 'running'))
          return false;
        // Patroni 3.0 says running before a replica streams: ask the leader.
        const rows = await queryAs(
          leader.port,
          "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        ).catch(() => []);
        return Number(rows[0]?.[0] ?? 0) === count - 1;
      }, timeoutMs);
      return leader!;
    },
    stop: async () => {
      for (const m of members) await m.kill().catch(() => undefined);
      etcd.kill('SIGKILL');
      await Promise.all(procs.map(exited));
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

async function getJson(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

async function waitFor(ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`Patroni cluster not ready within ${timeoutMs} ms`);
    await sleep(250);
  }
}
