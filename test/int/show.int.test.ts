// SHOW pool_* reports answered by pgpool-ts with the newest pgpool's columns and true
// values: children, their states and their backend connections, from every worker.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';

let p: Pooler;
beforeAll(async () => {
  p = await startPooler({ num_init_children: 3, max_pool: 2, worker_processes: 2 });
});
afterAll(stopAllPoolers);

async function client(database = 'app'): Promise<pg.Client> {
  const c = new pg.Client(p.client('postgres', database));
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('SHOW pool_*', () => {
  it("answers pgpool2_exporter's queries with every column it reads, numbers where it parses numbers", async () => {
    const c = await client();
    const version = (await c.query('SHOW POOL_VERSION;')).rows[0].pool_version as string;
    expect(Number(/^(\d+\.\d+)/.exec(version)![1])).toBeGreaterThanOrEqual(4.2); // its gate for backend and health-check stats
    const reads: Record<string, { labels: string[]; numbers: string[] }> = {
      pool_nodes: { labels: ['hostname', 'port', 'role', 'status'], numbers: ['select_cnt', 'replication_delay'] },
      pool_backend_stats: {
        labels: ['hostname', 'port', 'role', 'status'],
        numbers: [
          'select_cnt',
          'insert_cnt',
          'update_cnt',
          'delete_cnt',
          'ddl_cnt',
          'other_cnt',
          'panic_cnt',
          'fatal_cnt',
          'error_cnt',
        ],
      },
      pool_health_check_stats: {
        labels: ['hostname', 'port', 'role', 'status'],
        numbers: [
          'total_count',
          'success_count',
          'fail_count',
          'skip_count',
          'retry_count',
          'average_retry_count',
          'max_retry_count',
          'max_duration',
          'min_duration',
          'average_duration',
        ],
      },
      pool_processes: { labels: ['pool_pid', 'database', 'username'], numbers: [] },
      pool_pools: { labels: ['pool_pid', 'pool_id', 'backend_id', 'database', 'username'], numbers: [] },
      pool_cache: {
        labels: [],
        numbers: [
          'cache_hit_ratio',
          'num_hash_entries',
          'used_hash_entries',
          'num_cache_entries',
          'used_cache_entries_size',
          'free_cache_entries_size',
        ],
      },
    };
    for (const [name, want] of Object.entries(reads)) {
      const r = await c.query(`SHOW ${name};`);
      const cols = r.fields.map((f) => f.name);
      for (const col of [...want.labels, ...want.numbers]) expect(cols, `${name}.${col}`).toContain(col);
      for (const row of r.rows)
        for (const col of want.numbers)
          expect(Number.isFinite(Number.parseFloat(row[col])), `${name}.${col} = ${row[col]}`).toBe(true);
    }
    expect((await c.query('SHOW pool_nodes;')).rows[0].status).toBe('up');
    await c.end();
  });

  it('pool_nodes: the backend, up, weight 1, main', async () => {
    const c = await client();
    const r = await c.query('SHOW pool_nodes');
    expect(r.fields.map((f) => f.name)).toEqual([
      'node_id',
      'hostname',
      'port',
      'status',
      'pg_status',
      'lb_weight',
      'role',
      'pg_role',
      'select_cnt',
      'load_balance_node',
      'replication_delay',
      'replication_state',
      'replication_sync_state',
      'last_status_change',
    ]);
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({
      node_id: '0',
      hostname: '127.0.0.1',
      status: 'up',
      lb_weight: '1.000000',
      role: 'main',
      load_balance_node: 'true',
    });
    expect(r.rows[0].last_status_change).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await c.end();
  });

  it('pool_processes and pool_pools: every child of every worker, with the database, user and backend pid in use', async () => {
    const other = await client('app2');
    const otherPid = (await other.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    await other.query('begin');
    const c = await client();
    const myPid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const procs = await c.query('SHOW pool_processes');
    expect(procs.fields.map((f) => f.name)).toEqual([
      'pool_pid',
      'start_time',
      'client_connection_count',
      'database',
      'username',
      'backend_connection_time',
      'pool_counter',
      'status',
    ]);
    expect(procs.rows).toHaveLength(3);
    expect(procs.rows.find((r) => r.database === 'app2')).toMatchObject({
      username: 'postgres',
      status: 'Idle in transaction',
    });
    // The asking session is running a command: SHOW pool_processes itself (as pgpool shows it).
    expect(procs.rows.find((r) => r.database === 'app')).toMatchObject({
      username: 'postgres',
      status: 'Execute command',
    });
    expect(procs.rows.filter((r) => r.database === '')[0]).toMatchObject({
      status: 'Wait for connection',
      username: '',
    });
    const pools = await c.query('SHOW pool_pools');
    expect(pools.fields).toHaveLength(21);
    expect(pools.fields.map((f) => f.name).slice(-4)).toEqual([
      'load_balance_node',
      'client_host',
      'client_port',
      'statement',
    ]);
    expect(pools.rows).toHaveLength(3 * 2); // num_init_children × max_pool × one backend
    const mine = pools.rows.find((r) => Number(r.pool_backendpid) === myPid);
    expect(mine).toMatchObject({
      database: 'app',
      username: 'postgres',
      pool_connected: '1',
      majorversion: '3',
      minorversion: '0',
      client_host: '127.0.0.1',
    });
    expect(pools.rows.find((r) => Number(r.pool_backendpid) === otherPid)).toMatchObject({
      database: 'app2',
      pool_connected: '1',
      status: 'Idle in transaction',
    });
    await other.query('rollback');
    await other.end();
    await c.end();
  });

  it('pool_status: configuration items with values and descriptions, then the backend', async () => {
    const c = await client();
    const r = await c.query('show POOL_STATUS');
    expect(r.fields.map((f) => f.name)).toEqual(['item', 'value', 'description']);
    const item = (n: string) => r.rows.find((x) => x.item === n);
    expect(item('num_init_children')).toEqual({
      item: 'num_init_children',
      value: '3',
      description: '# of children initially pre-forked',
    });
    expect(item('connection_cache')?.value).toBe('1');
    expect(item('backend_hostname0')?.value).toBe('127.0.0.1');
    await c.end();
  });

  it("shows a child whose client's transaction failed as Idle in transaction", async () => {
    const failed = await client('app2');
    await failed.query('begin');
    await expect(failed.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    const c = await client();
    const rows = (await c.query('SHOW pool_processes')).rows as Array<Record<string, string>>;
    expect(rows.find((r) => r.database === 'app2')).toMatchObject({ status: 'Idle in transaction' });
    await failed.query('rollback');
    const after = (await c.query('SHOW pool_processes')).rows as Array<Record<string, string>>;
    expect(after.find((r) => r.database === 'app2')).toMatchObject({ status: 'Idle' });
    await Promise.all([failed.end(), c.end()]);
  });

  it("pool_backend_stats, pool_health_check_stats and pool_cache have pgpool's columns", async () => {
    const c = await client();
    expect((await c.query('SHOW pool_backend_stats')).fields.map((f) => f.name)).toEqual([
      'node_id',
      'hostname',
      'port',
      'status',
      'role',
      'select_cnt',
      'insert_cnt',
      'update_cnt',
      'delete_cnt',
      'ddl_cnt',
      'other_cnt',
      'panic_cnt',
      'fatal_cnt',
      'error_cnt',
    ]);
    const hc = await c.query('SHOW pool_health_check_stats');
    expect(hc.fields).toHaveLength(20);
    expect(hc.rows[0]).toMatchObject({ node_id: '0', total_count: '0', average_duration: '0.000000' });
    const cache = await c.query('SHOW pool_cache');
    expect(cache.rows).toEqual([
      {
        num_cache_hits: '0',
        num_selects: '0',
        cache_hit_ratio: '0.00',
        num_hash_entries: '0',
        used_hash_entries: '0',
        num_cache_entries: '0',
        used_cache_entries_size: '0',
        free_cache_entries_size: '0',
        fragment_cache_entries_size: '0',
      },
    ]);
    // A report between queries leaves the session as it was; the extended protocol goes to PostgreSQL.
    expect((await c.query('select 41 + 1 as n')).rows[0].n).toBe(42);
    await expect(c.query({ text: 'SHOW pool_nodes', values: [], name: 'ext_show' })).rejects.toMatchObject({
      code: '42704',
    });
    await c.end();
  });
});
