// Streaming replication against a real primary and a real streaming standby: the primary
// is found by pg_is_in_recovery() even when it is not node 0 and takes every session;
// the replication check fills SHOW pool_nodes (roles, pg_role, replication_state,
// sync state, delay) and logs a standby whose replay is paused; without a primary found,
// writes go to the main node, which refuses them itself; ALWAYS_PRIMARY needs no search.
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type ConfValues, type Pooler } from '../../helpers/pooler.js';
import { freePort } from '../../helpers/ports.js';
import { pcp, pcpSetup } from '../../helpers/pcp.js';
import { pollUntil } from '../../helpers/poll.js';
import { direct } from '../../helpers/routing.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';

let pair: ReplicatedPair;

beforeAll(async () => {
  pair = await startAppPair();
});

afterAll(async () => {
  await stopAllPoolers();
  await pair?.stop();
});

/** Node 0 is the standby and node 1 the primary, so that "the first node" is the wrong answer. */
function clusterConf(values: ConfValues = {}): ConfValues {
  return {
    backend_clustering_mode: 'streaming_replication',
    backend_hostname0: pair.standby.host,
    backend_port0: pair.standby.port,
    backend_application_name0: pair.standby.applicationName,
    backend_hostname1: pair.primary.host,
    backend_port1: pair.primary.port,
    backend_weight0: 1,
    backend_weight1: 1,
    load_balance_mode: false,
    sr_check_user: 'postgres',
    sr_check_period: 1,
    worker_processes: 1,
    num_init_children: 2,
    ...values,
  };
}

async function one(p: Pooler, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client(p.client('postgres', 'app'));
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function poolNodes(p: Pooler): Promise<Record<string, string>[]> {
  return (await one(p, 'SHOW pool_nodes')) as Record<string, string>[];
}

/** Polls SHOW pool_nodes until `ok` holds (the replication check runs every second). */
async function nodesUntil(p: Pooler, ok: (rows: Record<string, string>[]) => boolean, ms = 20_000) {
  let rows = await poolNodes(p);
  await pollUntil(
    async () => ok((rows = await poolNodes(p))),
    () => `SHOW pool_nodes to match: ${JSON.stringify(rows)}`,
    ms,
    250,
  );
  return rows;
}

describe('streaming replication: the primary found, the standby watched', () => {
  let p: Pooler;
  let metricsPort = 0;
  beforeAll(async () => {
    const tools = await pcpSetup();
    p = await startPooler(
      clusterConf({
        delay_threshold: 1,
        log_standby_delay: 'if_over_threshold',
        ...tools.values,
        metrics_port: (metricsPort = await freePort()),
        metrics_listen_addresses: '127.0.0.1',
      }),
      tools.files,
    );
    await p.waitForLog(/find_primary_node: primary node is 1/);
    // No session before the supervisor's node table says so (PCP asks the supervisor, no
    // session): one that started on a worker still without the primary in its snapshot
    // would connect to node 0, the main node, and mark the standby used ('up', not 'waiting').
    await pollUntil(
      async () => (await pcp(p, 'pcp_node_info', ['-n', '1'])).stdout.split(' ')[6] === 'primary',
      'the primary in the node table',
      20_000,
      100,
    );
    // SHOW answers through the one worker after the node snapshot it was sent first.
    await nodesUntil(p, (r) => r[1].role === 'primary');
  });

  it('logs pgpool’s search lines and sends every session to the primary (node 1)', async () => {
    expect(p.logs()).toMatch(/find_primary_node_repeatedly: waiting for finding a primary node/);
    expect(p.logs()).toMatch(/find_primary_node: standby node is 0/);
    const [row] = await one(
      p,
      "INSERT INTO t (v) VALUES ('through the pooler') RETURNING inet_server_port() AS port, pg_is_in_recovery() AS r",
    );
    expect(row).toEqual({ port: pair.primary.port, r: false });
  });

  it('SHOW pool_nodes: roles, pg_role, replication state and sync state from the replication check', async () => {
    const rows = await nodesUntil(p, (r) => r[0].replication_state === 'streaming');
    expect(rows.map((r) => [r.node_id, r.port, r.role, r.pg_role, r.load_balance_node])).toEqual([
      ['0', String(pair.standby.port), 'standby', 'standby', 'false'],
      ['1', String(pair.primary.port), 'primary', 'primary', 'true'],
    ]);
    expect(rows[0]).toMatchObject({ replication_state: 'streaming', replication_sync_state: 'async' });
    expect(rows[1]).toMatchObject({ replication_delay: '0', replication_state: '', replication_sync_state: '' });
  });

  it('pcp_node_info: the standby’s role, pg_role and pg_stat_replication states; the primary’s', async () => {
    await nodesUntil(p, (r) => r[0].replication_state === 'streaming');
    const info = async (node: string) => (await pcp(p, 'pcp_node_info', ['-n', node])).stdout.trim();
    // hostname port status weight status-name pg_status role pg_role delay state sync-state last-change;
    // the standby is waiting: no session has used it (every statement goes to the primary).
    const standby = (await info('0')).split(' ');
    expect([...standby.slice(0, 8), ...standby.slice(9, 11)]).toEqual([
      pair.standby.host,
      String(pair.standby.port),
      '1',
      '0.500000',
      'waiting',
      'unknown',
      'standby',
      'standby',
      'streaming',
      'async',
    ]);
    expect(Number(standby[8])).toBeGreaterThanOrEqual(0);
    expect((await info('1')).split(' ').slice(0, 11)).toEqual([
      pair.primary.host,
      String(pair.primary.port),
      '2',
      '0.500000',
      'up',
      'unknown',
      'primary',
      'primary',
      '0',
      'none',
      'none',
    ]);
  });

  it('/metrics: pgpool2_exporter’s node families labelled with the real roles', async () => {
    await nodesUntil(p, (r) => r[0].replication_state === 'streaming');
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const node = (port: number, role: string) => `{hostname="127.0.0.1",port="${port}",role="${role}"}`;
    expect(text).toContain(`pgpool2_pool_nodes_status${node(pair.standby.port, 'standby')} 1`);
    expect(text).toContain(`pgpool2_pool_nodes_status${node(pair.primary.port, 'primary')} 1`);
    expect(text).toMatch(
      new RegExp(
        `pgpool2_pool_nodes_replication_delay\\{hostname="127.0.0.1",port="${pair.standby.port}",role="standby"\\} \\d+\\n`,
      ),
    );
  });

  it('a standby whose replay is paused falls behind by the bytes PostgreSQL counts, and is logged', async () => {
    const standby = await direct(pair.standby);
    const primary = await direct(pair.primary);
    try {
      await standby.query('SELECT pg_wal_replay_pause()');
      await one(p, "INSERT INTO t (v) SELECT repeat('x', 100) FROM generate_series(1, 2000)");
      // The standby still receives WAL but does not replay it: the delay stays put while paused.
      await new Promise((r) => setTimeout(r, 500));
      const replay = (await standby.query('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0].lsn as string;
      const expected = Number(
        (await primary.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [replay])).rows[0].d,
      );
      expect(expected).toBeGreaterThan(100_000);
      const rows = await nodesUntil(p, (r) => Number(r[0].replication_delay) >= expected);
      // No write is running now, so the next check measures exactly what PostgreSQL says.
      expect(Number(rows[0].replication_delay)).toBe(expected);
      await p.waitForLog(/Replication of node: 0 is behind \d+ bytes from the primary server \(node: 1\)/);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
      await standby.end();
      await primary.end();
    }
    await nodesUntil(p, (r) => r[0].replication_delay === '0');
  });
});

describe('reload', () => {
  it('a node added by a reload is watched as a standby; the primary keeps every session', async () => {
    const one_node = clusterConf({
      backend_hostname0: pair.primary.host,
      backend_port0: pair.primary.port,
      backend_application_name0: '',
      backend_hostname1: '',
      backend_port1: 0,
    });
    const p = await startPooler(one_node);
    await p.waitForLog(/find_primary_node: primary node is 0/);
    await nodesUntil(p, (r) => r[0].role === 'primary');
    expect((await poolNodes(p)).map((r) => [r.node_id, r.role])).toEqual([['0', 'primary']]);
    fs.appendFileSync(
      p.conf,
      `backend_hostname1 = '${pair.standby.host}'\nbackend_port1 = ${pair.standby.port}\nbackend_application_name1 = '${pair.standby.applicationName}'\n`,
    );
    p.proc.kill('SIGHUP');
    const rows = await nodesUntil(p, (r) => r.length === 2 && r[1].replication_state === 'streaming');
    expect(rows.map((r) => [r.node_id, r.port, r.status, r.role, r.pg_role])).toEqual([
      ['0', String(pair.primary.port), 'up', 'primary', 'primary'],
      ['1', String(pair.standby.port), 'waiting', 'standby', 'standby'],
    ]);
    expect((await one(p, 'SELECT inet_server_port() AS port'))[0].port).toBe(pair.primary.port);
    await p.stop();
  });
});

describe('no primary found, and ALWAYS_PRIMARY', () => {
  it('a search that cannot log in gives up after search_primary_node_timeout; writes go to the main node, which refuses them', async () => {
    const p = await startPooler(clusterConf({ sr_check_user: 'no_such_role', search_primary_node_timeout: 2 }));
    await p.waitForLog(/failed to find primary node/, 20_000);
    expect(p.logs()).toMatch(/find_primary_node: make_persistent_db_connection_noerror failed on node 1/);
    const rows = await poolNodes(p);
    expect(rows.map((r) => [r.role, r.pg_role, r.load_balance_node])).toEqual([
      ['standby', 'unknown', 'true'],
      ['standby', 'unknown', 'false'],
    ]);
    const c = new pg.Client(p.client('postgres', 'app'));
    await c.connect();
    await expect(c.query("INSERT INTO t (v) VALUES ('lost')")).rejects.toMatchObject({
      code: '25006',
      message: 'cannot execute INSERT in a read-only transaction',
    });
    expect((await c.query('SELECT inet_server_port() AS port')).rows[0].port).toBe(pair.standby.port);
    await c.end();
    await p.stop();
  });

  it('backend_flag ALWAYS_PRIMARY makes node 1 the primary without a search', async () => {
    const p = await startPooler(clusterConf({ sr_check_user: '', backend_flag1: 'ALWAYS_PRIMARY' }));
    // The node table starts with it: the first snapshot a worker gets names node 1.
    expect((await poolNodes(p)).map((r) => r.role)).toEqual(['standby', 'primary']);
    await p.waitForLog(/ALWAYS_PRIMARY flag: primary node is 1/);
    expect(p.logs()).not.toMatch(/waiting for finding a primary node/);
    expect((await one(p, 'SELECT inet_server_port() AS port'))[0].port).toBe(pair.primary.port);
    await p.stop();
  });

  it('raw mode uses node 0 whatever it is', async () => {
    const p = await startPooler(clusterConf({ backend_clustering_mode: 'raw' }));
    expect((await one(p, 'SELECT inet_server_port() AS port'))[0].port).toBe(pair.standby.port);
    expect((await poolNodes(p)).map((r) => [r.role, r.pg_role])).toEqual([
      ['main', 'main'],
      ['replica', 'replica'],
    ]);
    expect(p.logs()).not.toMatch(/find_primary_node/);
    await p.stop();
  });
});
