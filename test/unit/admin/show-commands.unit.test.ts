// The SHOW pool_* reports built from a ClusterView (configuration, node table snapshot)
// and the workers' child reports: what SHOW, PCP and the exporter metrics all read.
import { describe, expect, it } from 'vitest';
import type { ChildReport } from '../../../src/admin/process-report.js';
import { buildReport, isShowReport } from '../../../src/admin/show-commands.js';
import { freshNode } from '../../../src/ipc/node-snapshot.js';
import { localTimestamp } from '../../../src/local-time.js';
import { loadConfigText } from '../../helpers/config.js';

const cfg = loadConfigText(
  "backend_hostname0 = 'db0'\nbackend_port0 = 5432\nbackend_hostname1 = 'db1'\nbackend_port1 = 5433\n" +
    'backend_weight1 = 3\nnum_init_children = 2\nmax_pool = 1\n',
);
const t0 = new Date(2026, 11, 2, 1, 2, 3).getTime();
const view = {
  cfg,
  startedAt: t0,
  nodes: [
    { ...freshNode(0, 'primary', t0 + 5000), status: 'up' as const, actualRole: 'primary' as const },
    {
      ...freshNode(1, 'standby', t0),
      actualRole: 'standby' as const,
      replicationDelay: 4096,
      replicationState: 'streaming',
      replicationSyncState: 'async',
    },
  ],
};
const child: ChildReport = {
  childId: 11,
  startedAt: t0,
  sessions: 4,
  status: 'Idle in transaction',
  slots: [
    {
      database: 'app',
      user: 'alice',
      backendPid: 777,
      createdAt: t0,
      counter: 2,
      connected: true,
      protocolMajor: 3,
      protocolMinor: 0,
    },
  ],
  clientConnectedAt: t0,
};

describe('buildReport', () => {
  it('pool_nodes: each node with its status, weight and last status change from the node table', () => {
    const r = buildReport('pool_nodes', view, []);
    const col = (row: readonly string[], name: string) => row[r.columns.indexOf(name)];
    expect(r.rows.map((row) => [col(row, 'node_id'), col(row, 'hostname'), col(row, 'status')])).toEqual([
      ['0', 'db0', 'up'],
      ['1', 'db1', 'waiting'],
    ]);
    expect(r.rows.map((row) => col(row, 'lb_weight'))).toEqual(['0.250000', '0.750000']);
    const columns = ['role', 'pg_role', 'load_balance_node', 'replication_delay', 'replication_state'];
    expect(r.rows.map((row) => columns.map((c) => col(row, c)))).toEqual([
      ['primary', 'primary', 'true', '0', ''],
      ['standby', 'standby', 'false', '4096', 'streaming'],
    ]);
    const byTime = buildReport(
      'pool_nodes',
      { ...view, nodes: [view.nodes[0], { ...view.nodes[1], replicationDelay: 2_500_000, delayByTime: true }] },
      [],
    );
    expect(col(byTime.rows[1], 'replication_delay')).toBe('2.500000 seconds');
    expect(r.rows.map((row) => col(row, 'last_status_change'))).toEqual([
      localTimestamp(t0 + 5000),
      localTimestamp(t0),
    ]);
  });

  it('pool_processes: the children, then the empty slots up to num_init_children', () => {
    const r = buildReport('pool_processes', view, [child]);
    expect(r.rows).toEqual([
      ['11', localTimestamp(t0), '4', 'app', 'alice', localTimestamp(t0), '2', 'Idle in transaction'],
      ['0', localTimestamp(0), '0', '', '', '', '', 'Wait for connection'],
    ]);
  });

  it('pool_health_check_stats and pool_status follow the node table', () => {
    const hc = buildReport('pool_health_check_stats', view, []);
    expect(hc.rows.map((row) => [row[0], row[3], row[5]])).toEqual([
      ['0', 'up', localTimestamp(t0 + 5000)],
      ['1', 'waiting', localTimestamp(t0)],
    ]);
    const status = buildReport('pool_status', view, []);
    expect(status.rows.filter((row) => row[0].startsWith('backend_status')).map((row) => row[1])).toEqual([
      'up',
      'waiting',
    ]);
  });

  it('knows its report names and refuses others', () => {
    expect(['pool_nodes', 'pool_version', 'pool_cache'].map(isShowReport)).toEqual([true, true, true]);
    expect(isShowReport('pool_nothing')).toBe(false);
    expect(() => buildReport('pool_nothing', view, [])).toThrow(/no report/);
  });
});
