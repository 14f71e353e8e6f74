// Runs the real pgpool-ts command (bin/pgpool-ts.js -n) on a generated pgpool.conf in a
// temporary directory, in front of the test PostgreSQL; stops it and removes everything.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { freePort } from './ports.js';
import { repoRoot } from './shared.js';

export interface Pooler {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly conf: string;
  readonly proc: ChildProcess;
  /** Everything the pooler wrote to stderr so far (JSON log lines). */
  logs(): string;
  /** Waits until a log line matching `re` appears. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Connection settings for node-postgres. */
  client(user?: string, database?: string): { host: string; port: number; user: string; database: string };
}

export type ConfValues = Record<string, string | number | boolean>;

export function confText(values: ConfValues): string {
  return (
    Object.entries(values)
      .map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v}'` : typeof v === 'boolean' ? (v ? 'on' : 'off') : v}`)
      .join('\n') + '\n'
  );
}

const running = new Set<Pooler>();

export interface StartOptions {
  /** Resolves once the pooler has started, when its stderr does not say so (logging_collector, syslog only). */
  readonly started?: (dir: string) => Promise<unknown>;
  /** More command-line arguments (-D, say). */
  readonly args?: readonly string[];
}

export async function startPooler(
  values: ConfValues = {},
  extraFiles: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  opts: StartOptions = {},
): Promise<Pooler> {
  const pg = inject('pg');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-test-'));
  const port = await freePort();
  const conf = path.join(dir, 'pgpool.conf');
  fs.writeFileSync(
    conf,
    confText({
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: dir,
      pcp_port: await freePort(),
      pcp_socket_dir: dir,
      pid_file_name: path.join(dir, 'pgpool.pid'),
      // pgpool_status: each pooler its own, not /tmp's.
      work_dir: dir,
      backend_hostname0: pg.host,
      backend_port0: pg.port,
      backend_clustering_mode: 'raw',
      num_init_children: 4,
      max_pool: 4,
      worker_processes: 2,
      log_connections: true,
      log_disconnections: true,
      metrics_port: 0,
      ...values,
    }),
  );
  for (const [name, text] of Object.entries(extraFiles)) fs.writeFileSync(path.join(dir, name), text);
  const proc = spawn(
    process.execPath,
    [path.join(repoRoot, 'bin/pgpool-ts.js'), '-n', '-f', conf, ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  let log = '';
  const waiters = new Set<() => void>();
  const onText = (b: Buffer) => {
    log += b.toString();
    for (const w of waiters) w();
  };
  proc.stderr!.on('data', onText);
  proc.stdout!.on('data', onText);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const waitForLog = (re: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = log.split('\n').find((l) => re.test(l));
        if (m !== undefined) {
          waiters.delete(check);
          clearTimeout(t);
          resolve(m);
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`log line ${re} did not appear within ${timeoutMs} ms; log:\n${log}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const pooler: Pooler = {
    host: '127.0.0.1',
    port,
    dir,
    conf,
    proc,
    logs: () => log,
    waitForLog,
    stop: async (signal = 'SIGINT') => {
      running.delete(pooler);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      return code;
    },
    client: (user = 'postgres', database = 'app') => ({ host: '127.0.0.1', port, user, database }),
  };
  running.add(pooler);
  await Promise.race([
    opts.started ? opts.started(dir) : waitForLog(/successfully started/),
    exited.then((code) => {
      throw new Error(`pgpool-ts exited with code ${code} before it started:\n${log}`);
    }),
  ]);
  return pooler;
}

/** Stops every pooler a test file left running (afterAll). */
export async function stopAllPoolers(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
}
