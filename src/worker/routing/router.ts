// Where a session's queries go (docs/architecture.md#processes). One node for now: the
// first configured node the node table does not say is down, as pgpool's raw mode uses
// its main node. Streaming-replication routing is built here next.
import { nodeAddress, type BackendAddress } from '../../backend/address.js';
import type { PgpoolConfig } from '../../config/schema.js';
import { isAlive, type NodeSnapshot } from '../../ipc/node-snapshot.js';

export function mainNode(cfg: PgpoolConfig, nodes: NodeSnapshot): BackendAddress | undefined {
  const node = nodes.find(isAlive);
  return node === undefined ? undefined : nodeAddress(cfg, node.id);
}
