#!/usr/bin/env node
// Regenerates conf/grafana/dashboards/pgpool-ts.json, the Grafana dashboard that
// docker-compose.yml provisions beside Prometheus (README: "Dashboard and Prometheus").
// Every selector carries {instance=~"$instance"}; test/unit/repo/dashboard.unit.test.ts
// checks each queried name against a real scrape. The output is committed.
import fs from 'node:fs';
import path from 'node:path';

const out = path.resolve(process.argv[2] ?? 'conf/grafana/dashboards/pgpool-ts.json');
const I = 'instance=~"$instance"';
const RATE = '$__rate_interval';
const DS = { type: 'prometheus', uid: '${datasource}' };

/** Three quantiles of a histogram, summed by `by` (plus le). */
function quantiles(metric, by, extra = '') {
  const group = ['le', ...by].join(', ');
  const legend = by.length ? `${by.map((l) => `{{${l}}}`).join(' ')} ` : '';
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${metric}_bucket{${I}${extra}}[${RATE}])))`,
    legendFormat: `${legend}p${Math.round(q * 100)}`,
  }));
}

const rows = [
  {
    title: 'Clients and children',
    panels: [
      {
        title: 'Clients: with a child, waiting for one, children in all',
        unit: 'short',
        targets: [
          { expr: `sum(pgpool2_frontend_used{${I}})`, legendFormat: 'with a child' },
          { expr: `sum(pgpool_ts_clients_waiting{${I}})`, legendFormat: 'waiting' },
          { expr: `sum(pgpool2_frontend_total{${I}})`, legendFormat: 'children (num_init_children)' },
        ],
      },
      {
        title: 'Children by state',
        unit: 'short',
        targets: [
          { expr: `sum by (state) (pgpool_ts_children{${I}})`, legendFormat: '{{state}}' },
          {
            expr: `sum by (state) (pgpool_ts_reserved_children{${I}})`,
            legendFormat: 'reserved for admin_users, {{state}}',
          },
        ],
      },
      {
        title: 'Wait for a free child',
        unit: 's',
        targets: quantiles('pgpool_ts_client_wait_seconds', []),
      },
      {
        title: 'Clients refused, by reason',
        unit: 'reqps',
        targets: [
          { expr: `sum by (reason) (rate(pgpool_ts_rejections_total{${I}}[${RATE}]))`, legendFormat: '{{reason}}' },
        ],
      },
    ],
  },
  {
    title: 'Backend connections',
    panels: [
      {
        title: 'Connection cache hit rate',
        unit: 'percentunit',
        targets: [
          {
            expr:
              `sum(rate(pgpool_ts_connection_cache_lookups_total{${I}, result="hit"}[${RATE}]))` +
              ` / sum(rate(pgpool_ts_connection_cache_lookups_total{${I}}[${RATE}]))`,
            legendFormat: 'hits',
          },
        ],
      },
      {
        title: 'Backend connection slots and evictions',
        unit: 'short',
        targets: [
          { expr: `sum(pgpool2_backend_used{${I}})`, legendFormat: 'in use' },
          { expr: `sum(pgpool2_backend_total{${I}})`, legendFormat: 'slots (children × max_pool)' },
          {
            expr: `sum(rate(pgpool_ts_connection_cache_evictions_total{${I}}[${RATE}]))`,
            legendFormat: 'evictions/s',
          },
        ],
      },
      {
        title: 'Backend connect and reset time (p95)',
        unit: 's',
        targets: [
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(pgpool_ts_backend_connect_seconds_bucket{${I}}[${RATE}])))`,
            legendFormat: 'connect p95',
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(pgpool_ts_reset_seconds_bucket{${I}}[${RATE}])))`,
            legendFormat: 'reset p95',
          },
        ],
      },
      {
        title: 'Sessions ended, by how',
        unit: 'reqps',
        targets: [{ expr: `sum by (end) (rate(pgpool_ts_sessions_total{${I}}[${RATE}]))`, legendFormat: '{{end}}' }],
      },
    ],
  },
  {
    title: 'Queries and transactions',
    panels: [
      {
        title: 'Query duration per database',
        unit: 's',
        targets: quantiles('pgpool_ts_query_duration_seconds', ['database']),
      },
      {
        title: 'Transaction duration per database',
        unit: 's',
        targets: quantiles('pgpool_ts_transaction_duration_seconds', ['database']),
      },
      {
        title: 'Queries per second per database',
        unit: 'reqps',
        targets: [
          {
            expr: `sum by (database) (rate(pgpool_ts_query_duration_seconds_count{${I}}[${RATE}]))`,
            legendFormat: '{{database}}',
          },
        ],
      },
      {
        title: 'Bytes relayed',
        unit: 'Bps',
        targets: [
          { expr: `sum by (direction) (rate(pgpool_ts_bytes_total{${I}}[${RATE}]))`, legendFormat: '{{direction}}' },
        ],
      },
    ],
  },
  {
    title: 'Nodes',
    panels: [
      {
        title: 'Node status (1 up, 0 down)',
        unit: 'short',
        targets: [{ expr: `pgpool2_pool_nodes_status{${I}}`, legendFormat: '{{hostname}}:{{port}} {{role}}' }],
      },
      {
        title: 'Replication delay',
        unit: 'bytes',
        targets: [
          {
            expr: `pgpool2_pool_nodes_replication_delay{${I}}`,
            legendFormat: '{{hostname}}:{{port}} {{role}}',
          },
        ],
      },
      {
        title: 'SELECTs per node',
        unit: 'reqps',
        targets: [
          {
            expr: `rate(pgpool2_pool_nodes_select_cnt{${I}}[${RATE}])`,
            legendFormat: '{{hostname}}:{{port}} {{role}}',
          },
        ],
      },
      {
        title: 'Request cycles of load-balanced sessions, per node',
        unit: 'reqps',
        targets: [
          {
            expr: `sum by (node) (rate(pgpool_ts_routed_requests_total{${I}}[${RATE}]))`,
            legendFormat: 'node {{node}}',
          },
        ],
      },
      {
        title: 'Writes and errors per node',
        unit: 'reqps',
        targets: ['insert', 'update', 'delete', 'ddl', 'error'].map((k) => ({
          expr: `sum by (hostname, port) (rate(pgpool2_pool_backend_stats_${k}_cnt{${I}}[${RATE}]))`,
          legendFormat: `{{hostname}}:{{port}} ${k}`,
        })),
      },
      {
        title: 'Health checks failed per node',
        unit: 'short',
        targets: [
          {
            expr: `pgpool2_pool_health_check_stats_fail_count{${I}}`,
            legendFormat: '{{hostname}}:{{port}} {{role}}',
          },
        ],
      },
      {
        title: 'Statement classification and catalog lookups',
        unit: 'reqps',
        targets: [
          {
            expr: `sum by (result) (rate(pgpool_ts_statement_classifications_total{${I}}[${RATE}]))`,
            legendFormat: 'classified: {{result}}',
          },
          {
            expr: `sum by (result) (rate(pgpool_ts_catalog_lookups_total{${I}}[${RATE}]))`,
            legendFormat: 'catalog: {{result}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Processes',
    panels: [
      {
        title: 'Resident memory per process',
        unit: 'bytes',
        stack: true,
        targets: [{ expr: `process_resident_memory_bytes{${I}}`, legendFormat: '{{process}}' }],
      },
      {
        title: 'CPU per process',
        unit: 'percentunit',
        stack: true,
        targets: [{ expr: `rate(process_cpu_seconds_total{${I}}[${RATE}])`, legendFormat: '{{process}}' }],
      },
      {
        title: 'Worker restarts and up',
        unit: 'short',
        targets: [
          { expr: `sum(increase(pgpool_ts_worker_restarts_total{${I}}[1h]))`, legendFormat: 'worker restarts (1 h)' },
          { expr: `up{${I}}`, legendFormat: 'up {{instance}}' },
        ],
      },
    ],
  },
];

let id = 1;
let y = 0;
const panels = [];
for (const row of rows) {
  panels.push({ type: 'row', id: id++, title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ } });
  row.panels.forEach((p, i) => {
    panels.push({
      type: 'timeseries',
      id: id++,
      title: p.title,
      datasource: DS,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
      fieldConfig: {
        defaults: {
          unit: p.unit,
          custom: { fillOpacity: p.stack ? 30 : 10, stacking: { mode: p.stack ? 'normal' : 'none' } },
        },
        overrides: [],
      },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: p.targets.map((t, k) => ({ refId: String.fromCharCode(65 + k), datasource: DS, ...t })),
    });
  });
  y += Math.ceil(row.panels.length / 2) * 8;
}

const dashboard = {
  uid: 'pgpool-ts',
  title: 'pgpool-ts',
  description: 'pgpool-ts: clients, children, connection cache, query and transaction durations, nodes',
  tags: ['pgpool-ts', 'postgresql', 'pooler'],
  schemaVersion: 39,
  version: 1,
  editable: true,
  refresh: '10s',
  time: { from: 'now-1h', to: 'now' },
  templating: {
    list: [
      { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} },
      {
        name: 'instance',
        label: 'Instance',
        type: 'query',
        datasource: DS,
        query: { query: 'label_values(pgpool2_frontend_total, instance)', refId: 'instance' },
        definition: 'label_values(pgpool2_frontend_total, instance)',
        includeAll: true,
        multi: true,
        allValue: '.*',
        refresh: 2,
        current: {},
      },
    ],
  },
  panels,
};

fs.writeFileSync(out, JSON.stringify(dashboard, null, 2) + '\n');
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}: ${panels.length} panels\n`);
