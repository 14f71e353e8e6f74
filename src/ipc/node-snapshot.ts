// The node table as the workers and the reports see it: the supervisor's cluster/ owns
// the table and sends this snapshot on every change (docs/architecture.md#nodes).

/** pgpool's node statuses (CON_UNUSED, CON_CONNECT_WAIT, CON_UP, CON_DOWN). */
export type NodeStatus = 'unused' | 'waiting' | 'up' | 'down';

/** The number pgpool's PCP and pgpool_status use for each status. */
export const NODE_STATUS_CODE: Readonly<Record<NodeStatus, number>> = { unused: 0, waiting: 1, up: 2, down: 3 };

/** Raw mode: node 0 is the main node, the others replicas (streaming replication: primary, standby). */
export type NodeRole = 'main' | 'replica' | 'primary' | 'standby';

/** PCP's role numbers. */
export const NODE_ROLE_CODE: Readonly<Record<NodeRole, number>> = { main: 0, replica: 1, primary: 2, standby: 3 };

/** What the node itself said at the last check (pgpool's pg_role): unknown when it was not asked or did not answer. */
export type ActualRole = 'primary' | 'standby' | 'unknown';

export interface NodeView {
  readonly id: number;
  readonly status: NodeStatus;
  readonly role: NodeRole;
  /** ms epoch of the last status or role change (pgpool's status_changed_time). */
  readonly lastStatusChange: number;
  /** pg_is_in_recovery() at the last primary search or replication check. */
  readonly actualRole: ActualRole;
  /** Standby delay: bytes of WAL not replayed, or µs of replay_lag when delayByTime (docs/behaviour.md#replication-check). */
  readonly replicationDelay: number;
  readonly delayByTime: boolean;
  /** pg_stat_replication.state and .sync_state for this standby, '' when unknown. */
  readonly replicationState: string;
  readonly replicationSyncState: string;
  /** pgpool's pg_status: what the last health check found (unknown: none ran). */
  readonly pgStatus: 'up' | 'down' | 'unknown';
}

export type NodeSnapshot = readonly NodeView[];

/** Waiting and up both serve clients (pgpool's VALID_BACKEND). */
export const isAlive = (n: Pick<NodeView, 'status'>): boolean => n.status === 'waiting' || n.status === 'up';

/** A node as configured and not yet checked. */
export function freshNode(id: number, role: NodeRole, now: number): NodeView {
  return {
    id,
    status: 'waiting',
    role,
    lastStatusChange: now,
    actualRole: 'unknown',
    replicationDelay: 0,
    delayByTime: false,
    replicationState: '',
    replicationSyncState: '',
    pgStatus: 'unknown',
  };
}

/**
 * pgpool's PRIMARY_NODE_ID in a child's view: the primary when it is alive, else the main
 * node (the lowest-id alive node); undefined when no node is alive.
 */
export function primaryNodeId(nodes: NodeSnapshot): number | undefined {
  const primary = nodes.find((n) => n.role === 'primary' && isAlive(n));
  return primary?.id ?? nodes.find(isAlive)?.id;
}
