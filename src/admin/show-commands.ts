// The SQL commands pgpool answers itself (docs/behaviour.md#show), over the simple query
// protocol: SHOW pool_version in the worker, the other reports built by the supervisor
// (which sees every worker's children) and sent back. Anything else goes to PostgreSQL.
import { readyForQuery, textResult } from '../protocol/backend-write.js';
import { TxStatus } from '../protocol/tx-status.js';
import { followsPatroni, writeNodeId } from '../policy/clustering.js';
import { delayColumn } from '../policy/replication-delay.js';
import { version } from '../version.js';
import { countCells, COUNT_COLUMNS, type NodeCounts } from './statement-counts.js';
import {
  backendNodes,
  HEALTH_CHECK_COLUMNS,
  healthCheckRow,
  poolStatusItems,
  type ClusterView,
} from './admin-views.js';
import {
  POOL_POOLS_COLUMNS,
  POOL_PROCESSES_COLUMNS,
  poolPoolsRows,
  poolProcessesRows,
  pgpoolTime,
  withEmptySlots,
  type ChildReport,
} from './process-report.js';

/** The pgpool-II release whose behaviour pgpool-ts follows. */
export const PGPOOL_COMPAT_VERSION = '4.8.0';

export interface Report {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The reports the supervisor builds. */
export const SUPERVISOR_REPORTS = new Set([
  'pool_status',
  'pool_nodes',
  'pool_processes',
  'pool_pools',
  'pool_backend_stats',
  'pool_health_check_stats',
  'pool_cache',
  'pool_waiting',
]);

/** Whether SHOW `name` is a report the pooler answers. */
export const isShowReport = (name: string): boolean => name === 'pool_version' || SUPERVISOR_REPORTS.has(name);

const encode = (r: Report) => Buffer.concat([textResult(r.columns, r.rows), readyForQuery(TxStatus.Idle)]);

/** SHOW pool_nodes for one session: load_balance_node is true on that session's load-balance node only. */
export function withLoadBalanceNode(r: Report, node: number): Report {
  const id = r.columns.indexOf('node_id');
  const lb = r.columns.indexOf('load_balance_node');
  return { ...r, rows: r.rows.map((row) => row.map((v, i) => (i === lb ? String(row[id] === String(node)) : v))) };
}

/** The answer to SHOW `name` (isShowReport): pool_version here, the others from the supervisor through `ask`. */
export function answerShow(name: string, ask: (name: string) => Promise<Report>): Buffer | Promise<Buffer> {
  // pgpool's "<version> (<codename>)": the pgpool version pgpool-ts behaves as first, since
  // tools gate features on it (pgpool2_exporter reads backend and health-check stats from 4.2 on).
  if (name === 'pool_version')
    return encode({ columns: ['pool_version'], rows: [[`${PGPOOL_COMPAT_VERSION} (pgpool-ts ${version()})`]] });
  return ask(name).then(encode);
}

// prettier-ignore
const NODES_COLUMNS = [
  'node_id', 'hostname', 'port', 'status', 'pg_status', 'lb_weight', 'role', 'pg_role', 'select_cnt',
  'load_balance_node', 'replication_delay', 'replication_state', 'replication_sync_state', 'last_status_change'
];
const BACKEND_STATS_COLUMNS = ['node_id', 'hostname', 'port', 'status', 'role', ...COUNT_COLUMNS];
// prettier-ignore
const CACHE_COLUMNS = [
  'num_cache_hits', 'num_selects', 'cache_hit_ratio', 'num_hash_entries', 'used_hash_entries', 'num_cache_entries',
  'used_cache_entries_size', 'free_cache_entries_size', 'fragment_cache_entries_size'
];

/**
 * A report with the newest pgpool's columns. The statement counters are those of routed
 * sessions (docs/behaviour.md#statement-counts); pgpool-ts has no query cache: the cache
 * figures are zero.
 */
export function buildReport(
  name: string,
  view: ClusterView,
  children: readonly ChildReport[],
  counts: NodeCounts = {},
): Report {
  const { cfg } = view;
  const nodes = backendNodes(view);
  const sessionNodeId = writeNodeId(cfg.backend_clustering_mode, view.nodes, followsPatroni(cfg));
  switch (name) {
    case 'pool_nodes':
      return {
        columns: NODES_COLUMNS,
        rows: nodes.map((n) => [
          String(n.id),
          n.hostname,
          String(n.port),
          n.statusName,
          n.pgStatus,
          n.weight.toFixed(6),
          n.roleName,
          n.pgRole,
          countCells(counts, n.id)[0],
          // The node a session writes to; a session's own SHOW marks its load-balance node (withLoadBalanceNode).
          n.id === sessionNodeId ? 'true' : 'false',
          delayColumn(n),
          n.replicationState,
          n.replicationSyncState,
          pgpoolTime(n.statusChangedEpoch * 1000),
        ]),
      };
    case 'pool_processes': {
      // pgpool's columns; with admin_reserved_children, pgpool-ts's `reserved` after them, in transaction mode `pinned`.
      const reserved = cfg.admin_reserved_children > 0;
      const pinned = cfg.pool_mode === 'transaction';
      return {
        columns: [...POOL_PROCESSES_COLUMNS, ...(reserved ? ['reserved'] : []), ...(pinned ? ['pinned'] : [])],
        rows: poolProcessesRows(withEmptySlots(children, cfg.num_init_children), reserved, pinned),
      };
    }
    case 'pool_pools':
      return {
        columns: POOL_POOLS_COLUMNS,
        rows: poolPoolsRows(withEmptySlots(children, cfg.num_init_children), cfg.max_pool),
      };
    case 'pool_status':
      return { columns: ['item', 'value', 'description'], rows: poolStatusItems(view) };
    case 'pool_backend_stats':
      return {
        columns: BACKEND_STATS_COLUMNS,
        rows: nodes.map((n) => [
          String(n.id),
          n.hostname,
          String(n.port),
          n.statusName,
          n.roleName,
          ...countCells(counts, n.id),
        ]),
      };
    case 'pool_health_check_stats':
      return { columns: HEALTH_CHECK_COLUMNS, rows: nodes.map((_, i) => healthCheckRow(view, i)) };
    case 'pool_cache':
      return { columns: CACHE_COLUMNS, rows: [['0', '0', '0.00', '0', '0', '0', '0', '0', '0']] };
    default:
      throw new Error(`no report "${name}"`);
  }
}
