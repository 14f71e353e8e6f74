// Faults and bad input, each followed by proof that the pooler still serves others:
// the backend going away and coming back, backends killed under active clients, a
// client vanishing mid-COPY, floods of bogus cancels, garbage, an absurd message
// length, the pid file removed, stderr gone, and keepalive on client sockets.
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { CANCEL_REQUEST_CODE } from '../../src/protocol/codes.js';
import { backendPid, connectError, withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { closeRawConnections, firstError, rawConnect, requestPacket, startupPacket } from '../helpers/raw.js';
import { repoRoot } from '../helpers/shared.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(closeRawConnections);
afterAll(stopAllPoolers);

const direct = () => ({ host: inject('pg').host, port: inject('pg').port, user: 'postgres', database: 'postgres' });
const activeBackends = (appName: string) =>
  withClient(
    direct(),
    async (c) =>
      (await c.query('select count(*)::int n from pg_stat_activity where application_name = $1', [appName])).rows[0]
        .n as number,
  );

describe('backend faults', () => {
  it('reports an unreachable backend by name and recovers, without a restart, when it returns', async () => {
    const proxy = await tcpProxy(inject('pg').host, inject('pg').port);
    const p = await startPooler({ backend_port0: proxy.port, num_init_children: 2, worker_processes: 1 });
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await proxy.stop();
    const e = await connectError({ ...p.client(), application_name: 'while_down' });
    expect(e).toMatchObject({ code: '08006', severity: 'FATAL', message: 'failed to create a backend connection' });
    expect(e.detail).toMatch(
      new RegExp(`could not connect to backend 0 at 127\\.0\\.0\\.1:${proxy.port}: .*ECONNREFUSED`),
    );
    await proxy.start();
    expect(await backendPid({ ...p.client(), application_name: 'after_return' })).toBeGreaterThan(0);
    await p.stop();
    await proxy.stop();
  });

  it('active clients whose backends are killed get an error, nobody hangs, and the next session works', async () => {
    const p = await startPooler({ num_init_children: 3 });
    const clients = await Promise.all(
      [0, 1].map(async () => {
        const c = new pg.Client({ ...p.client(), application_name: 'to_kill' });
        c.on('error', () => {});
        await c.connect();
        return c;
      }),
    );
    const running = clients.map((c) =>
      c.query('select pg_sleep(30)').then(
        () => 'finished',
        (e: { code: string }) => e.code,
      ),
    );
    await sleep(300);
    await withClient(direct(), (c) =>
      c.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'to_kill'"),
    );
    expect(await Promise.all(running)).toEqual(['57P01', '57P01']);
    expect(await backendPid({ ...p.client(), application_name: 'after_kill' })).toBeGreaterThan(0);
    await p.stop();
  });
});

describe('load', () => {
  it('loses no client under connection churn with twice as many clients as children', async () => {
    // Regression: a socket handed to a busy IPC channel used to be destroyed while still queued.
    const p = await startPooler({ num_init_children: 8, worker_processes: 2 });
    const errors: string[] = [];
    let ok = 0;
    const until = Date.now() + 3000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const c = new pg.Client(p.client());
          c.on('error', () => {});
          try {
            await c.connect();
            await c.query('select 1');
            await c.end();
            ok++;
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      }),
    );
    expect(errors).toEqual([]);
    expect(ok).toBeGreaterThan(500);
    expect(p.logs()).not.toMatch(/could not hand a client/);
    await p.stop();
  });
});

describe('clients misbehaving', () => {
  it('a client vanishing mid-COPY (no Terminate) costs only its own backend connection', async () => {
    const p = await startPooler({ num_init_children: 2 });
    await withClient(p.client(), (c) => c.query('CREATE TABLE IF NOT EXISTS mid_copy (x text)'));
    const raw = await rawConnect(p.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app', application_name: 'mid_copy' }));
    await raw.ready();
    const q = Buffer.from('COPY mid_copy FROM STDIN\0');
    const msg = Buffer.alloc(5);
    msg[0] = 0x51;
    msg.writeInt32BE(4 + q.length, 1);
    raw.send(Buffer.concat([msg, q]));
    for (let i = 0; i < 50 && !raw.received().includes(Buffer.from([0x47])); i++) await sleep(20);
    raw.send(Buffer.from([0x64, 0, 0, 0, 8, 0x61, 0x0a, 0x62, 0x0a])); // CopyData "a\nb\n"
    await sleep(200);
    expect(await activeBackends('mid_copy')).toBe(1);
    raw.socket.destroy();
    await sleep(500);
    expect(await activeBackends('mid_copy')).toBe(0);
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('a client that ends its session during COPY FROM STDIN gets its connection reset and cached at once', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const cfg = { ...p.client(), application_name: 'copy_terminate' };
    const sql = postgres({ ...cfg, max: 1, connection: { application_name: 'copy_terminate' }, onnotice: () => {} });
    await sql`CREATE TABLE IF NOT EXISTS mid_copy (x text)`;
    const pid = (await sql`select pg_backend_pid() as pid`)[0].pid;
    const w = await sql`COPY mid_copy FROM STDIN`.writable();
    w.on('error', () => {});
    w.write('a\n');
    await sleep(100);
    await sql.end({ timeout: 0 }).catch(() => undefined); // Terminate in the middle of the COPY
    const t0 = Date.now();
    expect(await backendPid(cfg)).toBe(pid);
    expect(Date.now() - t0).toBeLessThan(2000);
    await p.stop();
  });

  it('survives a flood of bogus cancel requests', async () => {
    const p = await startPooler({ num_init_children: 4, listen_backlog_multiplier: 100 });
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const raw = await rawConnect(p.port);
        const key = Buffer.alloc(8);
        key.writeInt32BE(100000 + i, 0);
        key.writeInt32BE(i, 4);
        raw.send(requestPacket(CANCEL_REQUEST_CODE, key));
        await raw.closed();
      }),
    );
    const count = () => p.logs().match(/invalid cancel key/g)?.length ?? 0;
    for (let i = 0; i < 50 && count() < 300; i++) await sleep(100);
    expect(count()).toBe(300);
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('closes garbage connections and keeps serving (200 random byte strings)', async () => {
    // Garbage that declares a plausible length and then stops holds a child until authentication_timeout.
    const p = await startPooler({ num_init_children: 8, authentication_timeout: 1, listen_backlog_multiplier: 64 });
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const raw = await rawConnect(p.port);
        const bytes = Buffer.from(Array.from({ length: 1 + rand(64) }, () => rand(256)));
        raw.send(bytes);
        await raw.closed(15_000);
      }),
    );
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  }, 120_000);

  it('a message declaring 1 GB ends that session without the pooler buffering it', async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 1 });
    const raw = await rawConnect(p.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app' }));
    await raw.ready();
    const header = Buffer.from([0x51, 0x40, 0, 0, 0]); // Query, length 1 GiB
    raw.send(Buffer.concat([header, Buffer.alloc(64 * 1024, 0x61)]));
    // The pooler forwards the header and streams the body; PostgreSQL gives up reading a
    // message that size and closes, and the session ends.
    await raw.closed(10_000);
    const kids = fs.readFileSync(`/proc/${p.proc.pid}/task/${p.proc.pid}/children`, 'utf8').trim().split(/\s+/);
    const rss = Math.max(
      ...kids.map((k) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${k}/status`, 'utf8'))![1])),
    );
    expect(rss).toBeLessThan(150 * 1024); // kB
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('answers a message with a length below 4 inside a session with a FATAL and closes', async () => {
    const p = await startPooler({ num_init_children: 2, worker_processes: 1 });
    const raw = await rawConnect(p.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app' }));
    const greeting = await raw.ready();
    raw.send(Buffer.from([0x51, 0, 0, 0, 2]));
    const got = (await raw.closed()).subarray(greeting.length);
    expect(firstError(got)).toMatchObject({
      S: 'FATAL',
      C: '08P01',
      M: 'invalid frontend message',
      D: 'invalid message length 2',
    });
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('turns on TCP keepalive for client connections (half-open clients are found)', async () => {
    if (spawnSync('sh', ['-c', 'command -v ss']).status !== 0) return expect.fail('ss (iproute2) is needed');
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    await withClient(p.client(), async () => {
      const { stdout } = await run('ss', ['-tnoH', 'state', 'established', `( sport = :${p.port} )`]);
      expect(stdout).toMatch(/timer:\(keepalive,/);
    });
    await p.stop();
  });
});

describe('process faults', () => {
  it('keeps serving when its pid file is removed, and still stops cleanly', async () => {
    const p = await startPooler({ num_init_children: 2 });
    fs.rmSync(path.join(p.dir, 'pgpool.pid'));
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    expect(await p.stop('SIGINT')).toBe(0);
  });

  it('keeps serving when nobody reads its log any more (stderr gone)', async () => {
    const probe = await startPooler({ num_init_children: 2 });
    const confText = fs.readFileSync(probe.conf, 'utf8');
    const port = probe.port;
    await probe.stop();
    const dir = fs.mkdtempSync(path.join(repoRoot, '.tmp-stderr-'));
    const confFile = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(
      confFile,
      confText
        .replace(/pid_file_name = '.*'/, `pid_file_name = '${path.join(dir, 'pgpool.pid')}'`)
        .replace(/unix_socket_directories = '.*'/, `unix_socket_directories = '${dir}'`),
    );
    const proc = spawn(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), '-n', '-f', confFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await new Promise((r) => proc.stderr!.once('data', r));
      await sleep(300);
      proc.stderr!.destroy();
      await sleep(300);
      for (let i = 0; i < 5; i++)
        expect(await backendPid({ host: '127.0.0.1', port, user: 'postgres', database: 'app' })).toBeGreaterThan(0);
      expect(proc.exitCode).toBe(null);
    } finally {
      // Stopped also when an assertion failed: nothing may be left running.
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        await new Promise((r) => proc.once('exit', r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
