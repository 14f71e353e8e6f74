// The Grafana dashboard (conf/grafana/) is what tools/gen-dashboard writes, queries only
// names a real scrape has (test/fixtures/metrics/cluster-scrape.prom, itself checked
// against a live scrape by the load-balance integration test), and is provisioned by
// docker-compose.yml on the Prometheus service.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCRAPE_FIXTURE, sampleNames } from '../../helpers/scrape-names.js';
import { repoRoot } from '../../helpers/shared.js';

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}

const dashboardPath = path.join(repoRoot, 'conf/grafana/dashboards/pgpool-ts.json');
const dashboard = JSON.parse(fs.readFileSync(dashboardPath, 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string }> };
};
const graphs = dashboard.panels.filter((p) => p.type !== 'row');
const scraped = sampleNames(fs.readFileSync(SCRAPE_FIXTURE, 'utf8'));
// Prometheus's own series for every target.
scraped.add('up');

/** The metric names a PromQL expression selects: each selector has a label matcher. */
function selectedNames(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]);
}

describe('the Grafana dashboard', () => {
  it('is what tools/gen-dashboard writes', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-dashboard-')), 'd.json');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'tools/gen-dashboard/gen-dashboard.mjs'), out]);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(dashboardPath, 'utf8'));
    fs.rmSync(path.dirname(out), { recursive: true });
  });

  it('has the panels the operations issue asks for, per-node ones included', () => {
    const titles = graphs.map((p) => p.title);
    for (const t of [
      'Clients: with a child, waiting for one, children in all',
      'Children by state',
      'Connection cache hit rate',
      'Query duration per database',
      'Transaction duration per database',
      'Bytes relayed',
      'Clients refused, by reason',
      'Node status (1 up, 0 down)',
      'Replication delay',
      'SELECTs per node',
    ])
      expect(titles).toContain(t);
  });

  it('queries in every panel only names that a real scrape has, each limited to $instance', () => {
    const missing: string[] = [];
    for (const p of graphs) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        const names = selectedNames(t.expr);
        expect(names.length, t.expr).toBeGreaterThan(0);
        expect(t.expr.split('{').length - 1, t.expr).toBe(t.expr.split('instance=~"$instance"').length - 1);
        for (const n of names) if (!scraped.has(n) || n.startsWith('nodejs_')) missing.push(`${p.title}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
    const instance = dashboard.templating.list.find((v) => v.name === 'instance')!;
    expect(scraped.has(/label_values\((\w+), instance\)/.exec(instance.definition!)![1])).toBe(true);
  });

  it('would catch a name the scrape lacks', () => {
    expect(selectedNames('sum(rate(pgpool_ts_no_such_total{instance=~"$instance"}[5m]))')).toEqual([
      'pgpool_ts_no_such_total',
    ]);
    expect(scraped.has('pgpool_ts_no_such_total')).toBe(false);
    expect(scraped.has('pgpool_ts_query_duration_seconds_bucket')).toBe(true);
  });

  it('is provisioned by docker-compose.yml with Prometheus as its data source', () => {
    const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'));
    const mounts = Object.fromEntries(
      (compose.services.grafana.volumes as string[]).map((v) => v.split(':')).map(([src, dst]) => [dst, src]),
    );
    const provisioning = path.join(repoRoot, mounts['/etc/grafana/provisioning']);
    const ds = parse(fs.readFileSync(path.join(provisioning, 'datasources/prometheus.yml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(compose.services.prometheus.ports).toContain('9090:9090');
    const providers = parse(fs.readFileSync(path.join(provisioning, 'dashboards/pgpool-ts.yml'), 'utf8'));
    const dashboardsDir = providers.providers[0].options.path as string;
    expect(path.resolve(repoRoot, mounts[dashboardsDir])).toBe(path.dirname(dashboardPath));
  });
});
