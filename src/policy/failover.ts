// Failover and failback decisions (docs/behaviour.md#failover), pure: whether a detach
// or attach request is valid (pgpool's texts), which sessions a detached node ends, and
// the %-placeholders of failover_command, failback_command and follow_primary_command.
import { NODE_STATUS_CODE, type NodeSnapshot, type NodeStatus } from '../ipc/node-snapshot.js';

/** pgpool's MAX_NUM_BACKENDS: node ids are 0 … 127. */
export const MAX_NODES = 128;

/** A request's node as the table has it (undefined: not configured). */
export interface RequestedNode {
  readonly id: number;
  readonly status: NodeStatus | undefined;
  /** backend_flag DISALLOW_TO_FAILOVER. */
  readonly disallowFailover: boolean;
}

const alive = (s: NodeStatus | undefined) => s === 'waiting' || s === 'up';
const code = (s: NodeStatus | undefined) => NODE_STATUS_CODE[s ?? 'unused'];

/**
 * Why a detach (degenerate) request is refused, in pgpool's words; undefined when it goes
 * ahead. `lastAlive`: an automatic request (health check, a session) for the only alive
 * node — pgpool-ts keeps it, so that service resumes by itself when it is back (pgpool
 * would leave every client refused until pcp_attach_node).
 */
export function detachRefusal(n: RequestedNode, pid: number, lastAlive = false): string | undefined {
  if (n.id < 0 || n.id >= MAX_NODES)
    return `invalid degenerate backend request, node id: ${n.id} is out of range. node id must be between [0 and ${MAX_NODES}]`;
  if (!alive(n.status))
    return `invalid degenerate backend request, node id : ${n.id} status: [${code(n.status)}] is not valid for failover`;
  if (n.disallowFailover)
    return `degenerate backend request for node_id: ${n.id} from pid [${pid}] is canceled because failover is disallowed on the node`;
  if (lastAlive)
    return `degenerate backend request for node_id: ${n.id} from pid [${pid}] is canceled because it is the last node alive`;
  return undefined;
}

/**
 * Why an attach (failback) request is refused at once (the requester sees it); in
 * streaming replication an attach of an alive node is accepted and then ignored
 * (attachIgnored), as pgpool does.
 */
export function attachRefusal(n: RequestedNode, raw: boolean): string | undefined {
  if (n.id < 0 || n.id >= MAX_NODES)
    return `invalid failback request, node id: ${n.id} is out of range. node id must be between [0 and ${MAX_NODES}]`;
  if (raw && alive(n.status))
    return `invalid failback request, node id : ${n.id} status: [${code(n.status)}] not valid for failback`;
  return undefined;
}

/** `id` is the only alive node: an automatic detach keeps it (detachRefusal's lastAlive). */
export function isLastAlive(nodes: NodeSnapshot, id: number): boolean {
  const up = nodes.filter((n) => alive(n.status));
  return up.length === 1 && up[0].id === id;
}

/** An accepted attach that changes nothing: the node is not down (pgpool logs this). */
export function attachIgnored(n: RequestedNode): string | undefined {
  if (n.status === 'down') return undefined;
  return `invalid failback request, status: [${code(n.status)}] of node id : ${n.id} is invalid for failback`;
}

/** Which sessions a detached node ends: every one, or those that use the node. */
export type RestartScope = 'all' | 'node';

/**
 * pgpool's kill_failover_children for a detach: in streaming (or logical) replication a
 * standby that failed otherwise than by health_check_timeout ends only the sessions using
 * it; the primary, a timeout or any other mode ends every session. The primary is the one
 * before the status change (pgpool 4.7 compares after it and can miss it).
 */
export function restartScope(i: {
  readonly withPrimary: boolean;
  readonly failed: number;
  readonly primaryBefore: number | undefined;
  readonly timedOut: boolean;
}): RestartScope {
  if (!i.withPrimary || i.timedOut || i.failed === i.primaryBefore) return 'all';
  return 'node';
}

/** A node a placeholder names: undefined for none (id −1). */
export interface CommandNode {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly dataDirectory: string;
}

export interface CommandContext {
  /** %d %h %p %D: the detached, attached or following node. */
  readonly node: CommandNode;
  /** %m %H %r %R: the new main node (failover, failback) or the new primary (follow primary). */
  readonly target: CommandNode | undefined;
  /** %M: the old main node id (−1 for none). */
  readonly oldMain: number;
  /** %P %N %S: the old primary. */
  readonly oldPrimary: CommandNode | undefined;
}

/**
 * A command with its placeholders filled: %d %h %p %D of the node, %m %H %r %R of the
 * target, %M the old main node, %P %N %S the old primary, %% a percent sign; a missing node
 * gives −1 for its id and "" for its host, port and directory; an unknown %x is dropped.
 */
export function expandCommand(template: string, c: CommandContext): string {
  const none = '""';
  const id = (n: CommandNode | undefined) => String(n?.id ?? -1);
  const values: Record<string, string> = {
    d: String(c.node.id),
    h: c.node.host,
    p: String(c.node.port),
    D: c.node.dataDirectory,
    m: id(c.target),
    H: c.target ? c.target.host : none,
    r: c.target ? String(c.target.port) : none,
    R: c.target ? c.target.dataDirectory : none,
    M: String(c.oldMain),
    P: id(c.oldPrimary),
    N: c.oldPrimary ? c.oldPrimary.host : none,
    S: c.oldPrimary ? String(c.oldPrimary.port) : none,
    '%': '%',
  };
  return template.replace(/%(.?)/gs, (_, k: string) => values[k] ?? '');
}

/** What a session does when one of its backend connections ends under it (docs/behaviour.md#failover). */
export interface BackendLoss {
  /** Request the node's detach (failover_on_backend_error). */
  readonly detach: boolean;
  /** The catalogue error the client is told; undefined: the socket just closes. */
  readonly tell: 'BACKEND_EOF' | 'BACKEND_READ_NO_FAILOVER' | undefined;
}

/**
 * pgpool's pool_read/pool_flush: a socket error detaches the node when
 * failover_on_backend_error is on (the client's socket just closes), else the client is told
 * without a detach; EOF detaches nothing, and is told unless PostgreSQL's own last message
 * (an ErrorResponse: 57P01 and the like) said why — then a socket error is only its closing.
 * A message that cannot be read drops the connection silently, as before. Following Patroni nothing is detached.
 */
export function backendLoss(i: {
  readonly socketError: boolean;
  /** PostgreSQL sent what cannot be read: the connection is dropped, not lost. */
  readonly garbled?: boolean;
  readonly saidWhy: boolean;
  readonly failoverOnBackendError: boolean;
  readonly mayDetach: boolean;
}): BackendLoss {
  if (i.garbled) return { detach: false, tell: undefined };
  // After PostgreSQL's own FATAL (pg_terminate_backend, a shutdown) a reset or broken pipe is its closing, not a failure.
  if (!i.socketError || i.saidWhy) return { detach: false, tell: i.saidWhy ? undefined : 'BACKEND_EOF' };
  if (!i.failoverOnBackendError) return { detach: false, tell: 'BACKEND_READ_NO_FAILOVER' };
  return { detach: i.mayDetach, tell: undefined };
}
