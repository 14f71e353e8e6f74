// Health checks and failover against a real primary and a real streaming standby: a
// stopped standby is detached after the health check's retries (sessions not on it go on,
// reads go to the primary, pgpool_status and pcp_node_info say down) and comes back with
// pcp_attach_node; a stopped primary is detached, failover_command promotes the standby
// (its arguments recorded), writes resume on it, and the old primary stays down across a
// pooler restart until -D.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgCtl } from '../../../src/dev/postgres-instance.js';
import { waitUntil } from '../../../src/dev/replicated-pair.js';
import { pcp, pcpSetup } from '../../helpers/pcp.js';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, type ConfValues, type Pooler } from '../../helpers/pooler.js';
import { scratch, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { direct, portOf, primaryFound, routingConf, withClient } from '../../helpers/routing.js';

const made = scratch();
afterAll(() => made.cleanup());

/** Health check every second, one retry a second later. */
const HEALTH_CHECK: ConfValues = {
  health_check_period: 1,
  health_check_max_retries: 1,
  health_check_retry_delay: 1,
  health_check_timeout: 5,
  health_check_user: 'postgres',
};

async function pooler(pair: ReplicatedPair, values: ConfValues, args: string[] = []): Promise<Pooler> {
  const { values: pcpValues, files } = await pcpSetup();
  const p = await startPooler(routingConf(pair, { ...pcpValues, ...values }), files, {}, { args });
  await primaryFound(p);
  return p;
}

const showNodes = (p: Pooler) => withClient(p, async (c) => (await c.query('SHOW pool_nodes')).rows);

async function clientAs(p: Pooler, application_name: string): Promise<pg.Client> {
  const c = new pg.Client({ ...p.client('postgres', 'app'), application_name });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('a standby that stops', () => {
  let pair: ReplicatedPair;
  beforeAll(async () => {
    pair = await made.pair();
  });

  it('is detached after the retries; sessions not on it go on; pcp_attach_node brings it back', async () => {
    const p = await pooler(pair, {
      ...HEALTH_CHECK,
      num_init_children: 3,
      app_name_redirect_preference_list: 'keeper:primary',
    });
    const onStandby = await clientAs(p, 'reader');
    const keeper = await clientAs(p, 'keeper');
    expect(await portOf(onStandby)).toBe(pair.standby.port);
    expect(await portOf(keeper)).toBe(pair.primary.port);

    await pgCtl(pair.standby.dataDir, ['-m', 'fast', '-w', 'stop']);
    await p.waitForLog(/=== Failover done\. shutdown host 127\.0\.0\.1\(\d+\) ===/, 20_000);
    const log = p.logs();
    expect(log).toMatch(/health check retrying on DB node: 0 \(round:1\)/);
    expect(log).toMatch(/health check failed on node 0 \(timeout:0\)/);
    expect(log).toMatch(/received degenerate backend request for node_id: 0 from pid \[\d+\]/);
    expect(log).toMatch(/Do not restart children because we are switching over node id 0 host: 127\.0\.0\.1/);

    // The session on the primary alone goes on; the one reading on the standby has ended.
    expect(await portOf(keeper)).toBe(pair.primary.port);
    await expect(onStandby.query('SELECT 1')).rejects.toThrow();
    await withClient(p, async (c) => expect(await portOf(c)).toBe(pair.primary.port));
    const nodes = await showNodes(p);
    expect(nodes.map((r) => [r.status, r.pg_status, r.role])).toEqual([
      ['down', 'down', 'standby'],
      ['up', 'up', 'primary'],
    ]);
    expect(fs.readFileSync(path.join(p.dir, 'pgpool_status'), 'utf8')).toBe('down\nup\n');
    const info = (await pcp(p, 'pcp_node_info', ['-n', '0'])).stdout.trim().split(' ');
    expect(info.slice(2, 6)).toEqual(['3', '1.000000', 'down', 'down']);
    const stats = await withClient(p, async (c) => (await c.query('SHOW pool_health_check_stats')).rows[0]);
    expect(stats).toMatchObject({ status: 'down', fail_count: '1', max_retry_count: '1' });
    expect(Number(stats.retry_count)).toBeGreaterThanOrEqual(1);
    expect(Number(stats.success_count)).toBeGreaterThanOrEqual(1);
    expect(stats.last_failed_health_check).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    // Started again and streaming, it stays down until attached (pgpool's rule).
    await pgCtl(pair.standby.dataDir, ['-l', path.join(pair.standby.dataDir, 'server.log'), '-w', 'start']);
    await waitUntil(
      pair.primary.port,
      "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming'",
      'streaming',
    );
    expect((await showNodes(p))[0].status).toBe('down');
    expect((await pcp(p, 'pcp_attach_node', ['-n', '0'])).stdout).toMatch(/pcp_attach_node -- Command Successful/);
    await p.waitForLog(/=== Failback done\. reconnect host 127\.0\.0\.1\(\d+\) ===/);
    expect(p.logs()).toMatch(/Do not restart children because we are failing back node id 0/);
    await pollUntil(
      () => withClient(p, async (c) => (await portOf(c)) === pair.standby.port),
      'reads on the attached standby',
    );
    expect(fs.readFileSync(path.join(p.dir, 'pgpool_status'), 'utf8')).toBe('up\nup\n');
    // The session that never used the standby is still there.
    expect(await portOf(keeper)).toBe(pair.primary.port);
    await keeper.end();
    await p.stop();
  });

  it('failover_on_backend_error: a session that cannot reach it detaches it and reads on the primary', async () => {
    const p = await pooler(pair, {});
    await pgCtl(pair.standby.dataDir, ['-m', 'fast', '-w', 'stop']);
    try {
      // No health check runs: the session's own failure detaches the standby; the client sees no error.
      await withClient(p, async (c) => expect(await portOf(c)).toBe(pair.primary.port));
      await p.waitForLog(/=== Failover done\. shutdown host 127\.0\.0\.1\(\d+\) ===/);
      expect(p.logs()).toMatch(/failed to connect to PostgreSQL server of node 0/);
      expect((await showNodes(p)).map((r) => r.status)).toEqual(['down', 'up']);
    } finally {
      await pgCtl(pair.standby.dataDir, ['-l', path.join(pair.standby.dataDir, 'server.log'), '-w', 'start']);
    }
    await p.stop();
    // Off: the standby is skipped for the session and stays up.
    const off = await pooler(pair, { failover_on_backend_error: false });
    await pgCtl(pair.standby.dataDir, ['-m', 'fast', '-w', 'stop']);
    try {
      await withClient(off, async (c) => expect(await portOf(c)).toBe(pair.primary.port));
      await off.waitForLog(/failed to create a backend 0 connection/);
      expect((await showNodes(off)).map((r) => r.status)).toEqual(['up', 'up']);
      expect(off.logs()).not.toMatch(/degenerate/);
    } finally {
      await pgCtl(pair.standby.dataDir, ['-l', path.join(pair.standby.dataDir, 'server.log'), '-w', 'start']);
    }
    await off.stop();
  });

  it('auto_failback attaches a detached standby that streams, once per auto_failback_interval', async () => {
    await waitUntil(
      pair.primary.port,
      "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming'",
      'streaming',
    );
    const p = await pooler(pair, { ...HEALTH_CHECK, auto_failback: true, auto_failback_interval: 60 });
    await pollUntil(async () => (await showNodes(p))[0].replication_state === 'streaming', 'the standby streaming');
    expect((await pcp(p, 'pcp_detach_node', ['-n', '0'])).stdout).toMatch(/pcp_detach_node -- Command Successful/);
    await p.waitForLog(/=== Failover done/);
    await p.waitForLog(/request auto failback, node id:0/, 10_000);
    await p.waitForLog(/=== Failback done\. reconnect host/);
    expect((await showNodes(p))[0].status).not.toBe('down');
    // Within the interval a second detach stays.
    await pcp(p, 'pcp_detach_node', ['-n', '0']);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await showNodes(p))[0].status).toBe('down');
    expect(p.logs().match(/request auto failback/g)).toHaveLength(1);
    await p.stop();
  });
});

describe('failover_on_backend_shutdown', () => {
  let pair: ReplicatedPair;
  beforeAll(async () => {
    pair = await made.pair();
  });

  /** Terminates, on the standby, the backend of the client named `app` (PostgreSQL sends it 57P01). */
  async function terminateOnStandby(app: string): Promise<void> {
    const c = await direct(pair.standby);
    try {
      await pollUntil(
        async () =>
          (
            await c.query('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1', [
              app,
            ])
          ).rows.some((r) => r.t === true),
        `the backend of ${app}`,
      );
    } finally {
      await c.end();
    }
  }

  it.each([
    ['a routed session (its standby leg)', 'streaming_replication'],
    ['a one-node session in raw mode', 'raw'],
  ])('on: 57P01 on %s detaches the node; off: the node stays', async (_name, mode) => {
    for (const on of [false, true]) {
      const values = { backend_clustering_mode: mode, failover_on_backend_shutdown: on };
      // Raw mode searches no primary: node 0 (the standby) is the main node.
      const p = mode === 'raw' ? await startPooler(routingConf(pair, values)) : await pooler(pair, values);
      const app = `victim_${mode}_${on}`;
      const c = await clientAs(p, app);
      expect(await portOf(c)).toBe(pair.standby.port);
      await terminateOnStandby(app);
      await expect(c.query('SELECT 1')).rejects.toThrow();
      if (on) {
        await p.waitForLog(/=== Failover done\. shutdown host/);
        expect((await showNodes(p))[0].status).toBe('down');
      } else {
        await new Promise((r) => setTimeout(r, 1000));
        expect(p.logs()).not.toMatch(/degenerate/);
        expect((await showNodes(p))[0].status).not.toBe('down');
      }
      await p.stop();
    }
  });
});

describe('a primary that stops', () => {
  it('failover_command promotes the standby, writes resume there, and the old primary stays down until -D', async () => {
    const pair = await made.pair();
    const dir = made.dir('pgpool-ts-failover-');
    const args = path.join(dir, 'args');
    const script = path.join(dir, 'failover.sh');
    // pgpool's placeholders in the order of its sample script; the new main node (%H:%r) is promoted.
    fs.writeFileSync(
      script,
      `#!/bin/sh\necho "$@" >> ${args}\npsql -h "$6" -p "$9" -U postgres -d postgres -Atc 'SELECT pg_promote()' >> ${args}.out 2>&1\n`,
      { mode: 0o755 },
    );
    const values: ConfValues = {
      ...HEALTH_CHECK,
      work_dir: dir,
      backend_data_directory0: pair.standby.dataDir,
      backend_data_directory1: pair.primary.dataDir,
      failover_command: `${script} %d %h %p %D %m %H %M %P %r %R %N %S`,
    };
    const p = await pooler(pair, values);
    await withClient(p, (c) => c.query("INSERT INTO t (v) VALUES ('before')"));

    const stoppedAt = Date.now();
    await pgCtl(pair.primary.dataDir, ['-m', 'fast', '-w', 'stop']);
    const errors: string[] = [];
    const write = () =>
      withClient(p, async (c) =>
        portOf(c, "INSERT INTO t (v) VALUES ('after') RETURNING inet_server_port() AS port"),
      ).catch((e: pg.DatabaseError) => void errors.push(`${e.code} ${e.message} / ${e.detail}`));
    await pollUntil(async () => (await write()) === pair.standby.port, 'a write on the promoted standby', 30_000, 100);
    const resumedMs = Date.now() - stoppedAt;
    // health_check_period × (max_retries + 1) + 2 s
    expect(resumedMs).toBeLessThanOrEqual(1000 * 2 + 2000);
    // The first write's session could not reach the primary: pgpool's answer, and the failover it starts.
    expect(errors[0]).toBe('XX000 failed to create a backend connection / executing failover on backend');

    const { primary, standby } = pair;
    expect(fs.readFileSync(args, 'utf8')).toBe(
      `1 ${primary.host} ${primary.port} ${primary.dataDir} 0 ${standby.host} 0 1 ${standby.port} ${standby.dataDir} ${primary.host} ${primary.port}\n`,
    );
    expect(p.logs()).toMatch(/Restart all children/);
    await pollUntil(async () => (await showNodes(p))[0].role === 'primary', 'node 0 shown as the primary');
    expect((await showNodes(p)).map((r) => [r.status, r.role])).toEqual([
      ['up', 'primary'],
      ['down', 'standby'],
    ]);
    expect(fs.readFileSync(path.join(dir, 'pgpool_status'), 'utf8')).toBe('up\ndown\n');
    await p.stop();

    // Restarted on the same pgpool_status: the old primary is still down.
    const again = await startPooler(routingConf(pair, { work_dir: dir }));
    await again.waitForLog(/reading status file: 1 th backend is set to down status/);
    await pollUntil(async () => (await showNodes(again))[0].role === 'primary', 'node 0 the primary after restart');
    expect((await showNodes(again)).map((r) => r.status)).toEqual(['up', 'down']);
    await again.stop();
    // -D discards it: the old primary is configured again and waits, as a new node does.
    const discarded = await startPooler(routingConf(pair, { work_dir: dir }), {}, {}, { args: ['-D'] });
    await discarded.waitForLog(/Backend status file .*pgpool_status discarded/);
    expect((await showNodes(discarded))[1].status).toBe('waiting');
    await discarded.stop();
  });
});

describe('a primary that stops, in transaction pooling mode', () => {
  it('ends the clients idle between transactions, and new transactions write on the promoted standby', async () => {
    const pair = await made.pair();
    const dir = made.dir('pgpool-ts-tx-failover-');
    const script = path.join(dir, 'failover.sh');
    fs.writeFileSync(script, `#!/bin/sh\npsql -h "$1" -p "$2" -U postgres -d postgres -Atc 'SELECT pg_promote()'\n`, {
      mode: 0o755,
    });
    const p = await pooler(pair, {
      ...HEALTH_CHECK,
      work_dir: dir,
      pool_mode: 'transaction',
      num_init_children: 2,
      max_pool: 1,
      failover_command: `${script} %H %r`,
    });
    // Connected and idle between transactions: it holds no backend connection.
    const idle = await clientAs(p, 'idle');
    expect(await portOf(idle, "INSERT INTO t (v) VALUES ('tx before') RETURNING inet_server_port() AS port")).toBe(
      pair.primary.port,
    );
    const ended = new Promise<Error>((r) => idle.once('error', r));
    await pgCtl(pair.primary.dataDir, ['-m', 'fast', '-w', 'stop']);
    const write = () =>
      withClient(p, (c) =>
        portOf(c, "INSERT INTO t (v) VALUES ('tx after') RETURNING inet_server_port() AS port"),
      ).catch(() => undefined);
    await pollUntil(async () => (await write()) === pair.standby.port, 'a write on the promoted standby', 30_000, 100);
    // The failover ended its session (pgpool restarts all children), though it held no connection.
    expect((await ended).message).toMatch(/Connection terminated unexpectedly|terminat/);
    await p.stop();
  });
});

describe('a standby that stops, in transaction pooling mode', () => {
  it('ends the sessions balancing reads to it; one whose reads go to the primary goes on', async () => {
    const pair = await made.pair();
    const p = await pooler(pair, {
      ...HEALTH_CHECK,
      pool_mode: 'transaction',
      num_init_children: 2,
      max_pool: 1,
      app_name_redirect_preference_list: 'keeper:primary',
    });
    const reader = await clientAs(p, 'reader');
    const keeper = await clientAs(p, 'keeper');
    const read = 'SELECT inet_server_port() AS port, 5 AS failover';
    // The first run of a text goes to the primary while its catalog facts are asked there.
    await portOf(reader, read);
    expect(await portOf(reader, read)).toBe(pair.standby.port);
    expect(await portOf(keeper, read)).toBe(pair.primary.port);
    const ended = new Promise<Error>((r) => reader.once('error', r));

    await pgCtl(pair.standby.dataDir, ['-m', 'fast', '-w', 'stop']);
    await p.waitForLog(/=== Failover done\. shutdown host 127\.0\.0\.1\(\d+\) ===/, 20_000);
    // Idle between transactions, holding no connection to it, the reader's session ended as pgpool's would.
    expect((await ended).message).toMatch(/Connection terminated unexpectedly|terminat/);
    expect(await portOf(keeper, read)).toBe(pair.primary.port);
    await withClient(p, async (c) => expect(await ports(c, read)).toEqual([pair.primary.port, pair.primary.port]));
    await keeper.end();
    await p.stop();
  });
});

/** The ports a read ran on, twice. */
const ports = async (c: pg.Client, sql: string): Promise<number[]> => [await portOf(c, sql), await portOf(c, sql)];
