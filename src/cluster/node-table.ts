// THE node table (docs/architecture.md#nodes), owned by the supervisor: one entry per
// configured backend, its status, role and last status change. SHOW pool_nodes, PCP,
// the metrics and the workers' routing all read its snapshot; only transition() changes it.
import { configuredBackends } from '../config/conf-checks.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { NodeSnapshot, NodeStatus, NodeView } from '../ipc/node-snapshot.js';
import { nodeTransition } from './node-state.js';

export class NodeTable {
  private nodes: NodeView[] = [];

  constructor(
    cfg: PgpoolConfig,
    /** Called after every change, with the new snapshot (the supervisor sends it to the workers). */
    private readonly changed: (nodes: NodeSnapshot) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(cfg);
  }

  /** Nodes named by the configuration, in node id order; a node added by a reload starts waiting. */
  configure(cfg: PgpoolConfig): void {
    const t = this.now();
    const known = new Map(this.nodes.map((n) => [n.id, n]));
    const next = configuredBackends(cfg).map(
      (id, i): NodeView =>
        known.get(id) ?? { id, status: 'waiting', role: i === 0 ? 'main' : 'replica', lastStatusChange: t },
    );
    const grew = next.length !== this.nodes.length;
    this.nodes = next;
    if (grew) this.changed(this.snapshot());
  }

  /** The only mutator of a node's status; false when `to` is no transition from its status. */
  transition(id: number, to: NodeStatus): boolean {
    const i = this.nodes.findIndex((n) => n.id === id);
    if (i < 0) return false;
    const next = nodeTransition(this.nodes[i], to, this.now());
    if (!next) return false;
    this.nodes[i] = next;
    this.changed(this.snapshot());
    return true;
  }

  /** A worker opened the first connection to a waiting node: it is up (pgpool: new_connection). */
  used(id: number): void {
    const n = this.nodes.find((x) => x.id === id);
    if (n?.status === 'waiting') this.transition(id, 'up');
  }

  snapshot(): NodeSnapshot {
    return this.nodes.map((n) => ({ ...n }));
  }
}
