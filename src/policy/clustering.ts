// What backend_clustering_mode means for routing (docs/behaviour.md#clustering-mode), pure:
// pgpool's SL_MODE (streaming or logical replication: a primary, found by asking, takes
// the writes) and STREAM (streaming only: replication delay is measured).
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive, primaryNodeId, type NodeSnapshot } from '../ipc/node-snapshot.js';

type Mode = PgpoolConfig['backend_clustering_mode'];

/** Streaming or logical replication: nodes are primary and standbys, and the primary is searched for. */
export const hasPrimary = (mode: Mode): boolean => mode === 'streaming_replication' || mode === 'logical_replication';

/** Streaming replication only: the replication check measures delay and pg_stat_replication states. */
export const measuresDelay = (mode: Mode): boolean => mode === 'streaming_replication';

/** Modes pgpool-ts refuses at start: pgpool itself replicates the writes in them. */
export const REFUSED_MODES: ReadonlySet<string> = new Set(['native_replication', 'snapshot_isolation']);

/**
 * The node that takes writes: PRIMARY_NODE_ID with a primary, else the main node (first
 * alive). Following Patroni (`strict`), only the member it calls leader: none while it is
 * not known, rather than guess (docs/behaviour.md#patroni).
 */
export function writeNodeId(mode: Mode, nodes: NodeSnapshot, strict = false): number | undefined {
  if (strict) return nodes.find((n) => n.role === 'primary' && isAlive(n))?.id;
  return hasPrimary(mode) ? primaryNodeId(nodes) : nodes.find(isAlive)?.id;
}

/** Whether nodes follow Patroni: the writes go only to its leader. */
export const followsPatroni = (cfg: Pick<PgpoolConfig, 'backend_discovery'>): boolean =>
  cfg.backend_discovery === 'patroni';
