// pgpool's views of the configuration and the backends, shared by SHOW pool_* and PCP:
// node info, the pool_status item list and health-check statistics. Pure functions of
// the config snapshot. pgpool-ts runs no health check and no failover: node 0 is "up"
// from the start and its statistics are zero.
import { configuredBackends } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { NodeInfo } from './pcp-protocol.js';
import { POOL_STATUS_ITEMS } from './pool-status-items.js';
import { pgpoolTime } from './process-report.js';

export function backendNodes(cfg: PgpoolConfig, since: number): NodeInfo[] {
  const nodes = configuredBackends(cfg);
  // An unset backend_weight counts as 1, as in pgpool.
  const weightOf = (n: number) => (cfg.backend_weight.nodes.has(n) ? nodeValue(cfg.backend_weight, n) : 1);
  const total = nodes.reduce((a, n) => a + weightOf(n), 0) || 1;
  return nodes.map((n, i) => ({
    hostname: nodeValue(cfg.backend_hostname, n),
    port: nodeValue(cfg.backend_port, n),
    // Only node 0 serves clients; more nodes are accepted but not used yet.
    status: i === 0 ? 2 : 0,
    pgStatus: 'unknown',
    weight: weightOf(n) / total,
    role: i === 0 ? 0 : 1,
    pgRole: i === 0 ? 'main' : 'replica',
    statusChangedEpoch: Math.floor(since / 1000),
  }));
}

function render(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** SHOW pool_status / pcp_pool_status rows: item, value, description (80 characters at most, as pgpool). */
export function poolStatusItems(cfg: PgpoolConfig, since: number): [string, string, string][] {
  const values = cfg as unknown as Record<string, unknown>;
  const rows: [string, string, string][] = POOL_STATUS_ITEMS.map(([name, desc]) => {
    const alias =
      name === 'socket_dir'
        ? 'unix_socket_directories'
        : name === 'logdir'
          ? 'work_dir'
          : name === 'delegate_IP'
            ? 'delegate_ip'
            : name;
    const v = name === 'memqcache_stats_start_time' ? new Date(since).toString() : values[alias];
    return [
      name,
      render(v && typeof v === 'object' && 'fallback' in v ? (v as { fallback: unknown }).fallback : v),
      desc.slice(0, 80),
    ];
  });
  const nodes = backendNodes(cfg, since);
  configuredBackends(cfg).forEach((n, i) => {
    rows.push(
      [`backend_hostname${n}`, nodeValue(cfg.backend_hostname, n), 'backend #' + n + ' hostname'],
      [`backend_port${n}`, String(nodeValue(cfg.backend_port, n)), 'backend #' + n + ' port number'],
      [`backend_weight${n}`, nodes[i].weight.toFixed(6), 'weight of backend #' + n],
      [`backend_data_directory${n}`, nodeValue(cfg.backend_data_directory, n), 'data directory for backend #' + n],
      [`backend_status${n}`, i === 0 ? 'up' : 'unused', 'status of backend #' + n],
      [`standby_delay${n}`, '0', 'standby delay of backend #' + n],
      [`backend_flag${n}`, render(nodeValue(cfg.backend_flag, n)) || 'ALLOW_TO_FAILOVER', 'backend #' + n + ' flag'],
      [
        `backend_application_name${n}`,
        nodeValue(cfg.backend_application_name, n),
        'application_name for backend #' + n,
      ],
    );
  });
  return rows;
}

export const HEALTH_CHECK_COLUMNS = [
  'node_id',
  'hostname',
  'port',
  'status',
  'role',
  'last_status_change',
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
  'last_health_check',
  'last_successful_health_check',
  'last_skip_health_check',
  'last_failed_health_check',
] as const;

/** SHOW pool_health_check_stats / pcp_health_check_stats row of a node: no health check runs, so counters are zero. */
export function healthCheckRow(cfg: PgpoolConfig, index: number, since: number): string[] {
  const n = backendNodes(cfg, since)[index];
  return [
    String(index),
    n.hostname,
    String(n.port),
    n.status === 2 ? 'up' : 'unused',
    n.pgRole,
    pgpoolTime(since),
    '0',
    '0',
    '0',
    '0',
    '0',
    '0.000000',
    '0',
    '0',
    '0',
    '0.000000',
    '',
    '',
    '',
    '',
  ];
}
