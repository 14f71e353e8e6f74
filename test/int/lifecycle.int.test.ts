// Signals and the process lifecycle: smart/fast shutdown, reload, stop/reload commands
// through the pid file, a stale pid file, and a worker killed with SIGKILL.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { backendPid, connectError, connected } from '../helpers/clients.js';
import { confText, startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterAll(stopAllPoolers);

/** A copy of a test pooler's configuration in its own directory under the repo (pid file and socket there). */
function confInDir(conf: string, prefix: string): { dir: string; confFile: string; pidFile: string; port: number } {
  const dir = fs.mkdtempSync(path.join(repoRoot, prefix));
  const confFile = path.join(dir, 'pgpool.conf');
  const pidFile = path.join(dir, 'pgpool.pid');
  fs.writeFileSync(
    confFile,
    conf
      .replace(/pid_file_name = '.*'/, `pid_file_name = '${pidFile}'`)
      .replace(/unix_socket_directories = '.*'/, `unix_socket_directories = '${dir}'`),
  );
  return { dir, confFile, pidFile, port: Number(/port = (\d+)/.exec(conf)![1]) };
}

const exitOf = (proc: import('node:child_process').ChildProcess) =>
  new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', (code) => r(code))));

describe('shutdown', () => {
  it('SIGTERM (smart): stops accepting, lets the connected client finish, then exits and removes its pid file', async () => {
    const p = await startPooler({ num_init_children: 2 });
    const pidFile = path.join(p.dir, 'pgpool.pid');
    expect(fs.readFileSync(pidFile, 'utf8').trim()).toBe(String(p.proc.pid));
    const a = await connected(p.client());
    p.proc.kill('SIGTERM');
    await p.waitForLog(/received smart shutdown request/);
    await sleep(300);
    expect(await connectError(p.client())).toMatchObject({ code: 'ECONNREFUSED' });
    expect((await a.query('select 5 as five')).rows[0].five).toBe(5);
    expect(p.proc.exitCode).toBe(null);
    await a.end();
    expect(await exitOf(p.proc)).toBe(0);
    expect(fs.existsSync(pidFile)).toBe(false);
    await p.stop();
  });

  it('SIGINT (fast): connected clients get FATAL 57P01 and the pooler exits', async () => {
    const p = await startPooler({ num_init_children: 2 });
    const a = await connected(p.client());
    const err = new Promise<{ code?: string; message: string }>((r) => a.on('error', r));
    p.proc.kill('SIGINT');
    expect(await err).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
    expect(await exitOf(p.proc)).toBe(0);
    await p.stop();
  });
});

describe('immediate shutdown and daemon mode', () => {
  it('SIGQUIT (immediate): exits at once, closing client connections', async () => {
    const p = await startPooler({ num_init_children: 2 });
    const a = await connected(p.client());
    const ended = new Promise<void>((r) => a.on('end', () => r()));
    p.proc.kill('SIGQUIT');
    expect(await exitOf(p.proc)).toBe(0);
    await ended;
    await p.stop();
  });

  it('without -n it detaches: the command returns, the pooler keeps running until stopped', async () => {
    const probe = await startPooler({ num_init_children: 1 });
    const conf = fs.readFileSync(probe.conf, 'utf8');
    await probe.stop();
    const { dir, confFile, pidFile, port } = confInDir(conf, '.tmp-daemon-');
    let daemonPid = 0;
    try {
      const t0 = Date.now();
      await run(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), '-f', confFile], { timeout: 10_000 });
      expect(Date.now() - t0).toBeLessThan(5000);
      for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await sleep(100);
      daemonPid = Number(fs.readFileSync(pidFile, 'utf8'));
      await sleep(500);
      expect(await backendPid({ host: '127.0.0.1', port, user: 'postgres', database: 'app' })).toBeGreaterThan(0);
      await run(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), '-f', confFile, '-m', 'fast', 'stop'], {
        timeout: 30_000,
      });
      expect(() => process.kill(daemonPid, 0)).toThrow();
      daemonPid = 0;
    } finally {
      // A failed run must not leave the daemon (and its workers) behind.
      if (daemonPid > 0) killQuietly(daemonPid, 'SIGQUIT');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reload', () => {
  it('SIGHUP applies reloadable parameters in every worker and keeps start-only ones, saying so', async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 2, client_idle_limit: 0 });
    const text = fs
      .readFileSync(p.conf, 'utf8')
      .replace('client_idle_limit = 0', 'client_idle_limit = 1')
      .replace('num_init_children = 2', 'num_init_children = 9');
    fs.writeFileSync(p.conf, text);
    p.proc.kill('SIGHUP');
    await p.waitForLog(/client_idle_limit.*reloaded parameters/);
    await p.waitForLog(/parameter \\"num_init_children\\" changed but takes effect only after a restart/);
    // Both children (one per worker) now enforce the new limit.
    const clients = [await connected(p.client()), await connected(p.client())];
    const errors = clients.map(
      (c) => new Promise<{ code?: string }>((r) => c.on('error', (e) => r(e as { code?: string }))),
    );
    expect((await Promise.all(errors)).map((e) => e.code)).toEqual(['57000', '57000']);
    await p.stop();
  });

  it('keeps the running configuration when the new file has an error', async () => {
    const p = await startPooler({ num_init_children: 2 });
    fs.appendFileSync(p.conf, 'max_pool = lots\n');
    p.proc.kill('SIGHUP');
    await p.waitForLog(/invalid value for parameter \\"max_pool\\": \\"lots\\"/);
    await p.waitForLog(/configuration not reloaded/);
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });
});

describe('the stop and reload commands', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), ...args], { timeout: 30_000 });

  it('reload signals the running pooler through its pid file; stop -m fast stops it', async () => {
    const p = await startPooler({ num_init_children: 2 });
    await cli('-f', p.conf, 'reload');
    await p.waitForLog(/reload config files/);
    const { stderr } = await cli('-f', p.conf, '-m', 'fast', 'stop');
    expect(stderr).toMatch(
      new RegExp(
        `stop request sent to pgpool-ts \\(pid: ${p.proc.pid}\\)\\. waiting for termination\\.\\.\\..*done\\.`,
      ),
    );
    expect(await exitOf(p.proc)).toBe(0);
    await p.stop();
  });

  it("stop without a running pooler fails with pgpool's message", async () => {
    const p = await startPooler({ num_init_children: 1 });
    await p.stop('SIGINT');
    fs.mkdirSync(p.dir, { recursive: true });
    fs.writeFileSync(p.conf, confText({ pid_file_name: path.join(p.dir, 'none.pid') }));
    const e = await cli('-f', p.conf, 'stop').then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(e?.code).toBe(3);
    expect(e?.stderr).toMatch(/FATAL: could not read pid file ".*none\.pid"/);
    fs.rmSync(p.dir, { recursive: true, force: true });
  });

  it('starts over a stale pid file and refuses to start over a live one', async () => {
    const probe = await startPooler({ num_init_children: 1 });
    const conf = fs.readFileSync(probe.conf, 'utf8');
    await probe.stop();
    // stale: a pid that does not exist
    const { dir, confFile, pidFile } = confInDir(conf, '.tmp-pid-');
    try {
      fs.writeFileSync(pidFile, '999999\n');
      const { spawn } = await import('node:child_process');
      const proc = spawn(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), '-n', '-f', confFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      proc.stderr!.on('data', (b) => (log += b));
      for (let i = 0; i < 100 && !log.includes('successfully started'); i++) await sleep(100);
      expect(log).toMatch(/pid file found but it seems bogus \(process 999999 is gone\)/);
      expect(fs.readFileSync(pidFile, 'utf8').trim()).toBe(String(proc.pid));
      // live: a second start on the same pid file is refused
      const second = await cli('-n', '-f', confFile).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(second?.code).toBe(3);
      expect(second?.stderr).toMatch(new RegExp(`pid file found\\. is another pgpool-ts \\(${proc.pid}\\) running\\?`));
      proc.kill('SIGINT');
      expect(await exitOf(proc)).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker killed with SIGKILL', () => {
  it('is replaced within 1 s; only its own clients lose their sessions', async () => {
    const p = await startPooler({ num_init_children: 4, worker_processes: 2 });
    const a = await connected({ ...p.client(), application_name: 'survivor' });
    // The worker that serves "survivor" logged its pid on the connection line.
    const line = await p.waitForLog(/"application_name"|new connection received/);
    const servingPid = JSON.parse(line).pid as number;
    const kids = fs
      .readFileSync(`/proc/${p.proc.pid}/task/${p.proc.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const victim = kids.find((k) => k !== servingPid)!;
    expect(kids).toContain(servingPid);
    process.kill(victim, 'SIGKILL');
    const t0 = Date.now();
    await p.waitForLog(/worker \d exited unexpectedly \(signal SIGKILL\)/);
    // A new client is served within a second of the kill.
    expect(await backendPid(p.client('alice', 'app'))).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The replacement worker hosts its children again: with "survivor" holding one of the
    // four children, three more sessions are served at once.
    const three = await Promise.all([0, 1, 2].map(() => connected(p.client('bob', 'app'))));
    expect(Date.now() - t0).toBeLessThan(3000);
    await Promise.all(three.map((c) => c.end()));
    expect((await a.query('select 1 as still')).rows[0].still).toBe(1);
    await a.end();
    await p.stop();
  });
});

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
