// /metrics in Prometheus text format 0.0.4, with pgpool2_exporter's frontend names and
// the pooler's own gauges, read from the live state.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { sampleValues, scrape } from '../helpers/scrape-names.js';

afterAll(stopAllPoolers);

describe('/metrics', () => {
  it('shows children in use, waiting clients and rejections', async () => {
    const port = await freePort();
    const p = await startPooler({
      num_init_children: 2,
      worker_processes: 1,
      metrics_port: port,
      metrics_listen_addresses: '127.0.0.1',
    });
    const held = [new pg.Client(p.client()), new pg.Client(p.client())];
    for (const c of held) await c.connect();
    // A held client that came before the children's first reports may have waited a moment too: count from here.
    const waitedBefore = await scrape(port);
    const waitsBefore = waitedBefore.get('pgpool_ts_client_wait_seconds_count') ?? 0;
    const waitSumBefore = waitedBefore.get('pgpool_ts_client_wait_seconds_sum') ?? 0;
    const waiting = new pg.Client(p.client());
    const waitingDone = waiting.connect();
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const m = sampleValues(text);
    // What only grows is typed a counter (promtool's rule for *_total).
    for (const name of [
      'pgpool_ts_rejections_total',
      'pgpool_ts_cancel_requests_total',
      'pgpool_ts_worker_restarts_total',
      'pgpool_ts_supervisor_accepted_total',
    ])
      expect(text).toContain(`# TYPE ${name} counter`);
    expect(m.get('pgpool_ts_worker_restarts_total')).toBe(0);
    expect(m.get('pgpool2_frontend_total')).toBe(2);
    expect(m.get('pgpool2_frontend_used')).toBe(2);
    expect(m.get('pgpool2_frontend_used_ratio')).toBe(1);
    expect(m.get('pgpool_ts_clients_waiting')).toBe(1);
    expect(m.get('pgpool_ts_children{state="busy"}')).toBe(2);
    expect(m.get('pgpool_ts_rejections_total{reason="reserved_connections"}')).toBe(0);
    expect(m.get('process_resident_memory_bytes{process="supervisor"}')).toBeGreaterThan(0);
    expect(m.get('process_resident_memory_bytes{process="worker 0"}')).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    await held[0].end();
    await waitingDone;
    const after = await scrape(port);
    expect(after.get('pgpool_ts_client_wait_seconds_count')! - waitsBefore).toBe(1);
    expect(after.get('pgpool_ts_client_wait_seconds_sum')! - waitSumBefore).toBeGreaterThan(0.25);
    await Promise.all([held[1].end(), waiting.end()]);
    await p.stop();
  });

  it('the workers accept while they have idle children: the supervisor accepts none of 20 sessions', async () => {
    const port = await freePort();
    const p = await startPooler({ num_init_children: 4, worker_processes: 2, metrics_port: port });
    const one = async () => {
      const c = new pg.Client(p.client());
      await c.connect();
      await c.end();
    };
    await one(); // the first may come before a worker has its listeners
    const before = (await scrape(port)).get('pgpool_ts_supervisor_accepted_total')!;
    for (let i = 0; i < 20; i++) await one();
    // Three clients at once on two workers of two children each: still the workers'.
    await Promise.all([one(), one(), one()]);
    // A client's end() resolves on its own socket's close; the worker counts the end a
    // moment later, so the count is awaited rather than read at once.
    let terminated = 0;
    await pollUntil(
      async () => (terminated = (await scrape(port)).get('pgpool_ts_sessions_total{end="terminate"}') ?? 0) >= 24,
      () => `24 terminated sessions, saw ${terminated}`,
    );
    const after = await scrape(port);
    expect(after.get('pgpool_ts_supervisor_accepted_total')).toBe(before);
    expect(after.get('pgpool_ts_sessions_total{end="terminate"}')).toBe(24);
    await p.stop();
  });

  it("merges every worker: 10 sequential sessions of one user are 1 cache miss and 9 hits; pgpool2_exporter's backend and node metrics", async () => {
    const port = await freePort();
    const p = await startPooler({
      num_init_children: 1,
      max_pool: 2,
      worker_processes: 2,
      metrics_port: port,
      metrics_listen_addresses: '127.0.0.1',
    });
    for (let i = 0; i < 10; i++) {
      const c = new pg.Client(p.client('postgres', 'app'));
      await c.connect();
      await c.query('select 1');
      await c.end();
    }
    const held = new pg.Client(p.client('postgres', 'app'));
    await held.connect();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = sampleValues(text);
    expect(m.get('pgpool_ts_connection_cache_lookups_total{result="hit"}')).toBe(10); // the 10 later sessions and the held one reuse it
    expect(m.get('pgpool_ts_connection_cache_lookups_total{result="miss"}')).toBe(1);
    expect(m.get('pgpool_ts_sessions_total{end="terminate"}')).toBe(10);
    expect(m.get('pgpool_ts_backend_connect_seconds_count')).toBe(1);
    expect(m.get('pgpool_ts_reset_seconds_count')).toBe(10);
    expect(m.get('pgpool_ts_bytes_total{direction="client_to_backend"}')).toBeGreaterThan(10 * 'select 1'.length);
    // pgpool2_exporter's families, computed from SHOW pool_pools / pool_nodes.
    expect(m.get('pgpool2_backend_total')).toBe(2);
    expect(m.get('pgpool2_backend_used')).toBe(1);
    expect(m.get('pgpool2_backend_used_ratio')).toBe(0.5);
    expect(
      [...m.keys()].find(
        (k) =>
          k.startsWith('pgpool2_backend_by_process_used{') &&
          k.includes('username="postgres"') &&
          k.includes('database="app"'),
      ),
    ).toBeDefined();
    expect(
      m.get(
        `pgpool2_pool_nodes_status{hostname="127.0.0.1",port="${/backend_port0 = (\d+)/.exec(fs.readFileSync(p.conf, 'utf8'))![1]}",role="main"}`,
      ),
    ).toBe(1);
    expect(m.get('pgpool2_pool_cache_cache_hit_ratio')).toBe(0);
    // Each process's own figures, labelled by process.
    expect([...m.keys()].filter((k) => k.startsWith('process_resident_memory_bytes')).sort()).toEqual([
      'process_resident_memory_bytes{process="supervisor"}',
      'process_resident_memory_bytes{process="worker 0"}',
      'process_resident_memory_bytes{process="worker 1"}',
    ]);
    expect(text.match(/^# TYPE pgpool_ts_connection_cache_lookups_total counter$/m)).not.toBeNull();
    await held.end();
    await p.stop();
  });

  it('passes promtool check metrics on a scrape under load, but for the names compatibility requires', async () => {
    const port = await freePort();
    const p = await startPooler({
      num_init_children: 4,
      worker_processes: 2,
      metrics_port: port,
      metrics_listen_addresses: '127.0.0.1',
    });
    let running = true;
    const load = Promise.all(
      [0, 1, 2].map(async () => {
        while (running) {
          const c = new pg.Client(p.client());
          await c.connect();
          for (let i = 0; i < 20; i++) await c.query('SELECT $1::int', [i]);
          await c.end();
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    running = false;
    await load;
    await p.stop();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error).toBeUndefined();
    const warnings = lint.stderr
      .split('\n')
      .filter((l) => l !== '')
      .sort();
    // pgpool-ts's own families: none.
    expect(warnings.filter((w) => w.startsWith('pgpool_ts_'))).toEqual([]);
    const cnt = ['ddl', 'delete', 'error', 'fatal', 'insert', 'other', 'panic', 'select', 'update'];
    const count = ['average_retry', 'fail', 'max_retry', 'retry', 'skip', 'success', 'total'];
    expect(warnings).toEqual(
      [
        // prom-client's default Node.js gauges.
        ...['handles', 'requests', 'resources'].map(
          (k) => `nodejs_active_${k}_total non-counter metrics should not have "_total" suffix`,
        ),
        // pgpool2_exporter's names and types, kept so its dashboards and alerts work.
        ...['backend_by_process_total', 'backend_total', 'frontend_total'].map(
          (k) => `pgpool2_${k} non-counter metrics should not have "_total" suffix`,
        ),
        ...cnt.map((k) => `pgpool2_pool_backend_stats_${k}_cnt counter metrics should have "_total" suffix`),
        ...count.map(
          (k) =>
            `pgpool2_pool_health_check_stats_${k}_count non-histogram and non-summary metrics should not have "_count" suffix`,
        ),
        'pgpool2_pool_nodes_select_cnt counter metrics should have "_total" suffix',
      ].sort(),
    );
  }, 60_000);
});
