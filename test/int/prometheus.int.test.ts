// A real Prometheus scrapes pgpool-ts (docs/behaviour.md#metrics): after two scrapes under
// load its HTTP API answers for pgpool2_exporter's frontend gauge, a quantile of the
// query-duration histogram, the target's health, and every query of the Grafana dashboard.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { repoRoot } from '../helpers/shared.js';

afterAll(stopAllPoolers);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(apiPort: number, promql: string): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe('a real Prometheus scraping pgpool-ts', () => {
  let prometheus: ChildProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-prometheus-'));
  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const gone = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores the frontend gauge, a query-duration quantile per database and up == 1', async () => {
    const metricsPort = await freePort();
    const p = await startPooler({
      num_init_children: 4,
      worker_processes: 2,
      metrics_port: metricsPort,
      metrics_listen_addresses: '127.0.0.1',
    });
    // Two clients stay connected, so pgpool2_frontend_used has a known floor at every scrape.
    const held = [new pg.Client(p.client()), new pg.Client(p.client())];
    for (const c of held) await c.connect();
    let running = true;
    const load = (async () => {
      while (running) for (const c of held) await c.query('SELECT pg_sleep(0.002)');
    })();

    const apiPort = await freePort();
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: pgpool-ts',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${metricsPort}']`,
        '',
      ].join('\n'),
    );
    let stderr = '';
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${apiPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await pollUntil(
      async () => {
        try {
          const r = await query(apiPort, 'count_over_time(up{job="pgpool-ts"}[1m])');
          return r.length === 1 && Number(r[0].value[1]) >= 2;
        } catch {
          return false;
        }
      },
      () => `two scrapes by Prometheus (its log: ${stderr.slice(-2000)})`,
      60_000,
      250,
    );
    // The second scrape saw queries finish since the first: a rate, and a quantile of it.
    await pollUntil(
      async () => (await query(apiPort, 'rate(pgpool_ts_query_duration_seconds_count[1m])')).length > 0,
      'a query-duration rate',
      30_000,
      250,
    );
    running = false;
    await load;

    const up = await query(apiPort, 'up{job="pgpool-ts"}');
    expect(up.map((s) => [s.metric.instance, s.value[1]])).toEqual([[`127.0.0.1:${metricsPort}`, '1']]);

    const used = await query(apiPort, 'pgpool2_frontend_used');
    expect(used).toHaveLength(1);
    expect(Number(used[0].value[1])).toBeGreaterThanOrEqual(2);
    expect(Number(used[0].value[1])).toBeLessThanOrEqual(4);
    expect(Number((await query(apiPort, 'pgpool2_frontend_total'))[0].value[1])).toBe(4);

    const p95 = await query(
      apiPort,
      'histogram_quantile(0.95, sum by (le, database) (rate(pgpool_ts_query_duration_seconds_bucket[1m])))',
    );
    expect(p95.map((s) => s.metric.database)).toEqual(['app']);
    const seconds = Number(p95[0].value[1]);
    // Every query sleeps 2 ms, and none on an idle 2-core machine takes a second.
    expect(seconds).toBeGreaterThanOrEqual(0.002);
    expect(seconds).toBeLessThan(1);

    // Every query of the Grafana dashboard is valid PromQL, and the gauges have data.
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'conf/grafana/dashboards/pgpool-ts.json'), 'utf8'),
    );
    const empty: string[] = [];
    for (const panel of dashboard.panels as Array<{ targets?: Array<{ expr: string }> }>)
      for (const t of panel.targets ?? []) {
        const expr = t.expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
        if ((await query(apiPort, expr)).length === 0) empty.push(expr);
      }
    expect(empty.filter((e) => /frontend|children|nodes_status|resident/.test(e))).toEqual([]);

    for (const c of held) await c.end();
    await p.stop();
  }, 120_000);
});
