// Where a session's queries go (docs/architecture.md#processes, docs/behaviour.md#routing).
// Raw mode: the main node, the first node the node table does not say is down. Streaming
// and logical replication: pgpool's PRIMARY_NODE_ID, the primary when it is alive, else
// the main node. Load balancing reads to standbys is built here next; until then every
// statement goes to that one node, so no write can reach a standby the table knows of.
import { nodeAddress, type BackendAddress } from '../../backend/address.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { NodeSnapshot } from '../../ipc/node-snapshot.js';
import { writeNodeId } from '../../policy/clustering.js';

export function sessionNode(cfg: PgpoolConfig, nodes: NodeSnapshot): BackendAddress | undefined {
  const id = writeNodeId(cfg.backend_clustering_mode, nodes);
  return id === undefined ? undefined : nodeAddress(cfg, id);
}
