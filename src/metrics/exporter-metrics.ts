// pgpool2_exporter's metrics, computed from the same reports SHOW pool_* answers with, so
// its Grafana dashboard works on pgpool-ts's own /metrics without running the exporter.
// Names, labels and the status mapping (up/waiting/true → 1) follow the exporter.
import { buildReport, type Report } from '../admin/show-commands.js';
import { slotsPerChild, walkUsedSlots, type ChildReport } from '../admin/process-report.js';
import { HEALTH_CHECK_COLUMNS, type ClusterView } from '../admin/admin-views.js';
import { COUNT_COLUMNS, type NodeCounts } from '../admin/statement-counts.js';

type Sample = { labels: Record<string, string>; value: number };
interface Family {
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function render(families: Map<string, Family>): string {
  let out = '';
  for (const [name, f] of families) {
    out += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',');
      out += `${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 'NaN'}\n`;
    }
  }
  return out;
}

/** A column's number: replication_delay measured in time reads "1.500000 second(s)", counted in seconds. */
const numeric = (v: string) => (/^-?\d+(\.\d+)? seconds?$/.test(v) ? parseFloat(v) : Number(v));

const statusValue = (v: string) => (v === 'true' || v === 'up' || v === 'waiting' ? 1 : 0);

/** Per-node reports: every listed column a metric, labelled by hostname, port and role. */
const NODE_REPORTS: Record<string, { counters: string[]; gauges: string[] }> = {
  pool_nodes: { counters: ['select_cnt'], gauges: ['status', 'replication_delay'] },
  pool_backend_stats: {
    counters: [...COUNT_COLUMNS],
    gauges: ['status'],
  },
  // status and the counters and durations of the health-check report (after last_status_change)
  pool_health_check_stats: { counters: [], gauges: ['status', ...HEALTH_CHECK_COLUMNS.slice(6, 16)] },
};

export function exporterMetricsText(
  view: ClusterView,
  children: readonly ChildReport[],
  counts: NodeCounts = {},
): string {
  const { cfg } = view;
  const families = new Map<string, Family>();
  const add = (name: string, help: string, type: Family['type'], labels: Record<string, string>, value: number) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help, type, samples: [] }));
    f.samples.push({ labels, value });
  };
  const col = (r: Report, row: readonly string[], c: string) => row[r.columns.indexOf(c)];
  for (const [name, spec] of Object.entries(NODE_REPORTS)) {
    const r = buildReport(name, view, children, counts);
    for (const row of r.rows) {
      const labels = { hostname: col(r, row, 'hostname'), port: col(r, row, 'port'), role: col(r, row, 'role') };
      for (const c of spec.gauges)
        add(
          `pgpool2_${name}_${c}`,
          `${name} ${c}`,
          'gauge',
          labels,
          c === 'status' ? statusValue(col(r, row, c)) : numeric(col(r, row, c)),
        );
      for (const c of spec.counters)
        add(`pgpool2_${name}_${c}`, `${name} ${c}`, 'counter', labels, Number(col(r, row, c)));
    }
  }
  const cache = buildReport('pool_cache', view, children);
  for (const c of [
    'cache_hit_ratio',
    'num_hash_entries',
    'used_hash_entries',
    'num_cache_entries',
    'used_cache_entries_size',
    'free_cache_entries_size',
  ]) {
    add(`pgpool2_pool_cache_${c}`, `query cache ${c}`, 'gauge', {}, Number(col(cache, cache.rows[0], c)));
  }
  // Backend connection slots (SHOW pool_pools' rows): a slot with a user name is in use, as the exporter counts.
  const perChild = slotsPerChild(cfg.max_pool);
  const total = children.length * perChild;
  let used = 0;
  const usedByChild = new Map<number, number>();
  walkUsedSlots(children, cfg.max_pool, (c, slot, s) => {
    used++;
    usedByChild.set(c.childId, (usedByChild.get(c.childId) ?? 0) + 1);
    add(
      'pgpool2_backend_by_process_used',
      'Number of backend connection slots in use',
      'gauge',
      { pool_pid: String(c.childId), pool_id: String(slot), backend_id: '0', username: s.user, database: s.database },
      1,
    );
  });
  // The exporter lists only processes with a slot in use.
  for (const [id, n] of usedByChild) {
    add(
      'pgpool2_backend_by_process_total',
      'Number of backend connection slots of the process',
      'gauge',
      { pool_pid: String(id) },
      perChild,
    );
    add(
      'pgpool2_backend_by_process_used_ratio',
      "Share of the process's backend connection slots in use",
      'gauge',
      { pool_pid: String(id) },
      n / perChild,
    );
  }
  add('pgpool2_backend_total', 'Number of total possible backend connection slots', 'gauge', {}, total);
  add('pgpool2_backend_used', 'Number of backend connection slots in use', 'gauge', {}, used);
  add(
    'pgpool2_backend_used_ratio',
    'Ratio of backend connections in use to total backend connection slots',
    'gauge',
    {},
    total > 0 ? used / total : 0,
  );
  return render(families);
}
