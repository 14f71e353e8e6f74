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

export interface NodeView {
  readonly id: number;
  readonly status: NodeStatus;
  readonly role: NodeRole;
  /** ms epoch of the last status or role change (pgpool's status_changed_time). */
  readonly lastStatusChange: number;
}

export type NodeSnapshot = readonly NodeView[];

/** Waiting and up both serve clients (pgpool's VALID_BACKEND). */
export const isAlive = (n: Pick<NodeView, 'status'>): boolean => n.status === 'waiting' || n.status === 'up';
