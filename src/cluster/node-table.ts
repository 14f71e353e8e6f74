// THE node table (docs/architecture.md#nodes), owned by the supervisor: one entry per
// configured backend, its status, role, last status change and what the replication
// check measured. SHOW pool_nodes, PCP, the metrics and the workers' routing all read its
// snapshot; only its methods change it, and each change is sent on at once.
import { configuredBackends } from '../config/conf-checks.js';
import type { PgpoolConfig } from '../config/schema.js';
import {
  freshNode,
  type ActualRole,
  type NodeRole,
  type NodeSnapshot,
  type NodeStatus,
  type NodeView,
} from '../ipc/node-snapshot.js';
import { nodeValue } from '../config/conf-loader.js';
import { hasPrimary } from '../policy/clustering.js';
import { alwaysPrimary } from '../policy/primary-choice.js';
import { nodeTransition } from './node-state.js';

/** What one replication check found for a node. */
export interface ReplicationFinding {
  readonly actualRole: ActualRole;
  readonly replicationDelay: number;
  readonly delayByTime: boolean;
  readonly replicationState: string;
  readonly replicationSyncState: string;
}

export class NodeTable {
  private nodes: NodeView[] = [];
  private withPrimary = false;
  private primary: number | undefined;

  constructor(
    cfg: PgpoolConfig,
    /** Called after every change, with the new snapshot (the supervisor sends it to the workers). */
    private readonly changed: (nodes: NodeSnapshot) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(cfg);
  }

  /** The primary's id, when the primary search found one. */
  get primaryId(): number | undefined {
    return this.primary;
  }

  /**
   * Nodes named by the configuration, in node id order; a node added by a reload starts
   * waiting. In streaming and logical replication every node is a standby until the
   * primary search says otherwise; in raw mode the first node is the main node. True when
   * the set of nodes changed.
   */
  configure(cfg: PgpoolConfig): boolean {
    const t = this.now();
    this.withPrimary = hasPrimary(cfg.backend_clustering_mode);
    // ALWAYS_PRIMARY needs no search: the first snapshot the workers get already says so.
    if (this.withPrimary && this.primary === undefined)
      this.primary = alwaysPrimary((id) => nodeValue(cfg.backend_flag, id), configuredBackends(cfg));
    const known = new Map(this.nodes.map((n) => [n.id, n]));
    const next = configuredBackends(cfg).map(
      (id, i): NodeView => known.get(id) ?? freshNode(id, this.roleOf(id, i), t),
    );
    const grew = next.length !== this.nodes.length;
    this.nodes = next;
    if (grew) this.changed(this.snapshot());
    return grew;
  }

  private roleOf(id: number, index: number): NodeRole {
    if (this.withPrimary) return id === this.primary ? 'primary' : 'standby';
    return index === 0 ? 'main' : 'replica';
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

  /** Statuses read from pgpool_status at start: a node down there starts down, one up there up. */
  restore(statuses: ReadonlyMap<number, 'up' | 'down'>): void {
    const t = this.now();
    this.update((n) => {
      const s = statuses.get(n.id);
      return s === undefined || s === n.status ? n : { ...n, status: s, lastStatusChange: t };
    });
  }

  /** What a health check found: pgpool's pg_status. */
  setPgStatus(id: number, pgStatus: 'up' | 'down'): void {
    this.update((n) => (n.id !== id || n.pgStatus === pgStatus ? n : { ...n, pgStatus }));
  }

  /** A worker opened the first connection to a waiting node: it is up (pgpool: new_connection). */
  used(id: number): void {
    const n = this.nodes.find((x) => x.id === id);
    if (n?.status === 'waiting') this.transition(id, 'up');
  }

  /**
   * The primary search's result: `primary` (undefined: none found) and what each asked
   * node answered. A role change is a status change for last_status_change, as in pgpool.
   */
  setPrimary(primary: number | undefined, answers: ReadonlyMap<number, ActualRole>): void {
    if (!this.withPrimary) return;
    this.primary = primary;
    const t = this.now();
    this.update((n, i) => {
      const role = this.roleOf(n.id, i);
      const actualRole = answers.get(n.id) ?? n.actualRole;
      if (role === n.role && actualRole === n.actualRole) return n;
      return { ...n, role, actualRole, lastStatusChange: role === n.role ? n.lastStatusChange : t };
    });
  }

  /**
   * Patroni's view (docs/behaviour.md#patroni): its leader is the primary (undefined: no
   * node takes writes), the members it has serving are alive — a down one waits again —
   * the others down, each standby's lag in bytes.
   */
  discovered(leader: number | undefined, alive: ReadonlyMap<number, boolean>, lag: ReadonlyMap<number, number>): void {
    this.primary = leader;
    const t = this.now();
    this.update((n, i) => {
      const role = this.roleOf(n.id, i);
      const serving = alive.get(n.id) ?? false;
      const status = serving ? (n.status === 'down' || n.status === 'unused' ? 'waiting' : n.status) : 'down';
      const replicationDelay = lag.get(n.id) ?? 0;
      // What Patroni called it last: a read-only session never goes to a node it last called leader.
      const actualRole = n.id === leader ? 'primary' : lag.has(n.id) ? 'standby' : n.actualRole;
      if (
        role === n.role &&
        status === n.status &&
        replicationDelay === n.replicationDelay &&
        actualRole === n.actualRole
      )
        return n;
      const changed = role !== n.role || status !== n.status;
      return {
        ...n,
        role,
        status,
        actualRole,
        replicationDelay,
        delayByTime: false,
        lastStatusChange: changed ? t : n.lastStatusChange,
      };
    });
  }

  /** Following Patroni, no answer for patroni_stale_timeout: no node is the primary; the rest is kept as last known. */
  leaderUnknown(): void {
    this.primary = undefined;
    const t = this.now();
    this.update((n, i) => {
      const role = this.roleOf(n.id, i);
      return role === n.role ? n : { ...n, role, lastStatusChange: t };
    });
  }

  /** A replication check's findings, by node id (nodes not named keep what they had). */
  setReplication(findings: ReadonlyMap<number, ReplicationFinding>): void {
    this.update((n) => {
      const f = findings.get(n.id);
      if (!f) return n;
      const same =
        f.actualRole === n.actualRole &&
        f.replicationDelay === n.replicationDelay &&
        f.delayByTime === n.delayByTime &&
        f.replicationState === n.replicationState &&
        f.replicationSyncState === n.replicationSyncState;
      return same ? n : { ...n, ...f };
    });
  }

  /** Applies `f` to every node; sends the snapshot once when anything changed. */
  private update(f: (n: NodeView, index: number) => NodeView): void {
    let changed = false;
    this.nodes = this.nodes.map((n, i) => {
      const next = f(n, i);
      if (next !== n) changed = true;
      return next;
    });
    if (changed) this.changed(this.snapshot());
  }

  snapshot(): NodeSnapshot {
    return this.nodes.map((n) => ({ ...n }));
  }
}
