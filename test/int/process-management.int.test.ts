// Admission, child lifetimes, the idle limit and dynamic process management, against a
// real PostgreSQL with real timing (the policies themselves are unit-tested with simulated time).
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { backendPid, connectError, connected } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { closeRawConnections, firstError, rawConnect } from '../helpers/raw.js';
import { localTimestamp } from '../../src/local-time.js';

afterEach(closeRawConnections);
afterAll(stopAllPoolers);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('admission', () => {
  it('num_init_children = 2: a third client waits, unanswered, and is served when one leaves', async () => {
    const p = await startPooler({ num_init_children: 2 });
    const a = await connected(p.client());
    const b = await connected(p.client());
    let thirdReady = 0;
    const t0 = Date.now();
    const third = connected(p.client()).then((c) => {
      thirdReady = Date.now();
      return c;
    });
    await sleep(1000);
    expect(thirdReady).toBe(0);
    await a.end();
    const c = await third;
    expect(thirdReady - t0).toBeGreaterThanOrEqual(1000);
    expect((await c.query('select 1 as x')).rows[0].x).toBe(1);
    await Promise.all([b.end(), c.end()]);
    await p.stop();
  });

  it('a freed child takes the waiting client, not one that comes as it frees', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const order: string[] = [];
    const client = async (name: string) => {
      const c = await connected(p.client());
      order.push(name);
      return c;
    };
    for (let round = 0; round < 5; round++) {
      order.length = 0;
      const a = await connected(p.client());
      const b = client('b');
      await sleep(200); // b waits in the supervisor's queue
      // c comes as a's child is freed: the worker must not take it before b.
      await a.end();
      await sleep(round * 5);
      const c = client('c');
      // A c served first would hold the only child until this test ended it: bounded.
      const first = await Promise.race([
        b,
        sleep(5000).then(() => Promise.reject(new Error(`b not served; served: ${order.join(', ')}`))),
      ]);
      await sleep(200);
      expect(order).toEqual(['b']);
      await first.end();
      await (await c).end();
      expect(order).toEqual(['b', 'c']);
    }
    // Nobody waits any more: the worker accepts again by itself.
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('a client that gives up while waiting never takes a child', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const a = await connected(p.client());
    const quitter = await rawConnect(p.port);
    await sleep(200);
    quitter.socket.destroy();
    await sleep(200);
    await a.end();
    const pid = await backendPid(p.client()); // served at once by the only child
    expect(pid).toBeGreaterThan(0);
    await p.stop();
  });

  it('refuses a waiting client still sending its first packet after authentication_timeout', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, authentication_timeout: 1 });
    const a = await connected(p.client());
    const slow = await rawConnect(p.port);
    slow.send(Buffer.from([0, 0, 0, 40, 0, 3, 0, 0])); // declares 40 bytes, sends 8
    const complete = await rawConnect(p.port); // a whole packet: keeps waiting
    complete.send(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])); // SSLRequest
    const t0 = Date.now();
    const got = await slow.closed(5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    expect(firstError(got)).toMatchObject({ S: 'FATAL', M: 'authentication timeout' });
    await sleep(500);
    expect(complete.socket.destroyed).toBe(false);
    await a.end();
    expect((await complete.read(1)).toString()).toBe('N'); // served once the child is free
    await p.stop();
  });

  it("reserved_connections = 1: the client beyond the limit gets pgpool's exact FATAL at once, before it sends anything", async () => {
    const p = await startPooler({ num_init_children: 2, reserved_connections: 1 });
    const a = await connected(p.client());
    const raw = await rawConnect(p.port);
    const got = await raw.closed(5000);
    expect(got.toString('latin1')).toBe('E\0\0\0\x34SFATAL\0C53300\0MSorry, too many clients already\0\0');
    const e = await connectError({ ...p.client() });
    expect(e).toMatchObject({ code: '53300', severity: 'FATAL', message: 'Sorry, too many clients already' });
    await a.end();
    await sleep(300); // the child counts until its reset is done, as in pgpool
    expect(await backendPid(p.client())).toBeGreaterThan(0);
    await p.stop();
  });

  it('beyond num_init_children × listen_backlog_multiplier waiting clients, a new one gets 53300', async () => {
    const p = await startPooler({ num_init_children: 1, listen_backlog_multiplier: 1, worker_processes: 1 });
    const a = await connected(p.client());
    const waiting = connected(p.client()); // fills the line of 1
    await sleep(300);
    const e = await connectError(p.client());
    expect(e).toMatchObject({ code: '53300', message: 'Sorry, too many clients already' });
    await a.end();
    await (await waiting).end();
    await p.stop();
  });

  it("a client waiting while every worker is full is served by the other worker's freed child", async () => {
    // The cancel key's first two bytes name the worker that issued it, modulo worker_processes.
    const workerOf = (c: pg.Client) => (((c as unknown as { secretKey: number }).secretKey >>> 16) & 0xffff) % 2;
    const pidOf = async (c: pg.Client) => (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    for (const freed of [1, 0]) {
      const p = await startPooler({ num_init_children: 2, worker_processes: 2 });
      const a = await connected(p.client());
      const b = await connected(p.client());
      // One child per worker: the two clients are on different workers.
      expect([workerOf(a), workerOf(b)].sort()).toEqual([0, 1]);
      const [kept, leaving] = workerOf(a) === freed ? [b, a] : [a, b];
      const leavingPid = await pidOf(leaving);
      let served = false;
      const third = connected(p.client()).then((c) => ((served = true), c));
      await sleep(500);
      expect(served).toBe(false);
      await leaving.end();
      const c = await third;
      expect(workerOf(c)).toBe(freed);
      expect(await pidOf(c)).toBe(leavingPid); // the freed child's cached backend
      await Promise.all([kept.end(), c.end()]);
      await p.stop();
    }
  });
});

describe('child lifetimes', () => {
  it('child_max_connections = 2: the third session gets a new child and a new backend', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, child_max_connections: 2 });
    const pids = [await backendPid(p.client()), await backendPid(p.client()), await backendPid(p.client())];
    expect(pids[1]).toBe(pids[0]);
    expect(pids[2]).not.toBe(pids[0]);
    await p.waitForLog(/child exiting, 2 connections reached/);
    await p.stop();
  });

  it('child_life_time = 1: an idle used child exits and its cached connections close', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, child_life_time: 1 });
    const a = await backendPid(p.client());
    expect(await backendPid(p.client())).toBe(a);
    await sleep(2600);
    expect(await backendPid(p.client())).not.toBe(a);
    await p.stop();
  });

  it('client_idle_limit = 1: an idle client gets 57000 "unable to read data" and its backend is not kept', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1, client_idle_limit: 1 });
    const c = await connected(p.client());
    const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid;
    const err = new Promise<{ code?: string; message: string }>((r) => c.on('error', r));
    const t0 = Date.now();
    // A query taking longer than the limit is not idleness.
    await c.query('select pg_sleep(1.5)');
    const e = await err;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400);
    expect(e).toMatchObject({ code: '57000', message: 'unable to read data' });
    expect(await backendPid(p.client())).not.toBe(pid);
    await p.stop();
  });
});

describe('dynamic process management', () => {
  it('starts with max_spare_children (aggressive) and spawns when idle children run short', async () => {
    const p = await startPooler({
      process_management_mode: 'dynamic',
      process_management_strategy: 'aggressive',
      num_init_children: 6,
      min_spare_children: 1,
      max_spare_children: 2,
    });
    expect(await p.waitForLog(/successfully started/)).toMatch(/"children":2\b/);
    const held = [await connected(p.client()), await connected(p.client())];
    // idle 0 < min_spare 1: (1 − 0) + ⌊2/4⌋ = 1 more child
    expect(await p.waitForLog(/spawned children/, 5000)).toMatch(/"spawned":1,"children":3/);
    const third = await connected(p.client());
    expect((await third.query('select 3 as n')).rows[0].n).toBe(3);
    await Promise.all([...held, third].map((c) => c.end()));
    await p.stop();
  });

  it('gentle starts with min_spare_children', async () => {
    const p = await startPooler({
      process_management_mode: 'dynamic',
      num_init_children: 8,
      min_spare_children: 3,
      max_spare_children: 5,
    });
    expect(await p.waitForLog(/successfully started/)).toMatch(/"children":3\b/);
    // As pgpool: SHOW pool_processes lists all 8 slots, the 5 without a child with pool_pid 0.
    const c = await connected(p.client());
    const rows = (await c.query('SHOW pool_processes')).rows as Array<Record<string, string>>;
    expect(rows).toHaveLength(8);
    const empty = rows.filter((r) => r.pool_pid === '0');
    expect(empty).toHaveLength(5);
    expect(empty[0]).toEqual({
      pool_pid: '0',
      start_time: localTimestamp(0),
      client_connection_count: '0',
      database: '',
      username: '',
      backend_connection_time: '',
      pool_counter: '',
      status: 'Wait for connection',
    });
    // this client's child, running SHOW pool_processes itself
    expect(rows.filter((r) => r.pool_pid !== '0' && r.status === 'Execute command')).toHaveLength(1);
    expect((await c.query('SHOW pool_pools')).rows).toHaveLength(8 * 4); // num_init_children × max_pool
    await c.end();
    await p.stop();
  });
});
