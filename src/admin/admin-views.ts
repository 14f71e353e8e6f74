// pgpool's views of the configuration and the node table, shared by SHOW pool_* and PCP:
// node info, the pool_status item list and health-check statistics. Pure functions of a
// ClusterView.
import { configuredWeight } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { HealthStats } from '../cluster/health-check.js';
import { NODE_ROLE_CODE, NODE_STATUS_CODE, type NodeSnapshot } from '../ipc/node-snapshot.js';
import { hasPrimary } from '../policy/clustering.js';
import type { NodeInfo } from './pcp-protocol.js';
import { POOL_STATUS_ITEMS } from './pool-status-items.js';
import { pgpoolTime } from './process-report.js';

/** What the reports about nodes and settings are made of. */
export interface ClusterView {
  readonly cfg: PgpoolConfig;
  /** The node table's latest snapshot (cluster/node-table.ts). */
  readonly nodes: NodeSnapshot;
  /** ms epoch pgpool-ts started. */
  readonly startedAt: number;
  /** The health check's counters of a node (cluster/health-check.ts); none: all zero. */
  readonly health?: (id: number) => HealthStats;
}

/** A node as the reports show it: PCP's NodeInfo, with its id and status name. */
export interface NodeRow extends NodeInfo {
  readonly id: number;
  readonly statusName: string;
  readonly roleName: string;
}

export function backendNodes({ cfg, nodes }: ClusterView): NodeRow[] {
  const total = nodes.reduce((a, n) => a + configuredWeight(cfg, n.id), 0) || 1;
  return nodes.map((n) => ({
    id: n.id,
    hostname: nodeValue(cfg.backend_hostname, n.id),
    port: nodeValue(cfg.backend_port, n.id),
    status: NODE_STATUS_CODE[n.status],
    statusName: n.status,
    pgStatus: n.pgStatus,
    weight: configuredWeight(cfg, n.id) / total,
    role: NODE_ROLE_CODE[n.role],
    roleName: n.role,
    // pgpool's pg_role: what the node said at the last check; outside streaming and logical replication, the role.
    pgRole: hasPrimary(cfg.backend_clustering_mode) ? (cfg.sr_check_period > 0 ? n.actualRole : 'unknown') : n.role,
    replicationDelay: n.replicationDelay,
    delayByTime: n.delayByTime,
    replicationState: n.replicationState,
    replicationSyncState: n.replicationSyncState,
    statusChangedEpoch: Math.floor(n.lastStatusChange / 1000),
  }));
}

function render(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** SHOW pool_status / pcp_pool_status rows: item, value, description (80 characters at most, as pgpool). */
export function poolStatusItems(view: ClusterView): [string, string, string][] {
  const { cfg, startedAt: since } = view;
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
  const nodes = backendNodes(view);
  nodes.forEach(({ id: n, statusName }, i) => {
    rows.push(
      [`backend_hostname${n}`, nodeValue(cfg.backend_hostname, n), 'backend #' + n + ' hostname'],
      [`backend_port${n}`, String(nodeValue(cfg.backend_port, n)), 'backend #' + n + ' port number'],
      [`backend_weight${n}`, nodes[i].weight.toFixed(6), 'weight of backend #' + n],
      [`backend_data_directory${n}`, nodeValue(cfg.backend_data_directory, n), 'data directory for backend #' + n],
      [`backend_status${n}`, statusName, 'status of backend #' + n],
      [`standby_delay${n}`, String(nodes[i].replicationDelay), 'standby delay of backend #' + n],
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

// prettier-ignore
export const HEALTH_CHECK_COLUMNS = [
  'node_id', 'hostname', 'port', 'status', 'role', 'last_status_change', 'total_count', 'success_count',
  'fail_count', 'skip_count', 'retry_count', 'average_retry_count', 'max_retry_count', 'max_duration',
  'min_duration', 'average_duration', 'last_health_check', 'last_successful_health_check', 'last_skip_health_check',
  'last_failed_health_check'
] as const;

/** SHOW pool_health_check_stats / pcp_health_check_stats row of a node: pgpool's counters and averages. */
export function healthCheckRow(view: ClusterView, index: number): string[] {
  const n = backendNodes(view)[index];
  const h = view.health?.(n.id);
  const checked = h ? h.total - h.skip : 0;
  const enabled = nodeValue(view.cfg.health_check_period, n.id) > 0;
  const average = (x: number) => (enabled && checked > 0 ? x / checked : 0).toFixed(6);
  return [
    String(n.id),
    n.hostname,
    String(n.port),
    n.statusName,
    n.roleName,
    pgpoolTime(n.statusChangedEpoch * 1000),
    String(h?.total ?? 0),
    String(h?.success ?? 0),
    String(h?.fail ?? 0),
    String(h?.skip ?? 0),
    String(h?.retry ?? 0),
    average(h?.retry ?? 0),
    String(h?.maxRetry ?? 0),
    String(h?.maxDuration ?? 0),
    String(h?.minDuration ?? 0),
    average(h?.totalDuration ?? 0),
    pgpoolTime(h?.lastCheck),
    pgpoolTime(h?.lastSuccess),
    pgpoolTime(h?.lastSkip),
    pgpoolTime(h?.lastFailed),
  ];
}
