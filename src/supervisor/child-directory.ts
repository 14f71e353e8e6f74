// The supervisor's read model of every child (docs/architecture.md#who-owns-what): which
// worker hosts it, whether it has a client, how many connections it caches. Changed only
// by the workers' childState messages. Beside it, the front door's own record of sockets
// it handed to a worker that has not yet said which child took them: free capacity per
// worker is idle children minus those, derived, never a counter that could drift.
import type { ChildExitReason, ChildStateReport } from '../ipc/messages.js';
import { totalFree } from '../policy/admission.js';

export interface ChildEntry {
  readonly id: number;
  readonly workerId: number;
  /** The client it serves while busy. */
  readonly connId: number | undefined;
  /** Connections in its cache, as of its last report. */
  readonly pooled: number;
}

export interface DirectoryEvents {
  /** The client of `connId` is done with its child (or never reached one). */
  connDone(connId: number): void;
  /** A child exited, and why (its worker's word). */
  exited(entry: ChildEntry, reason: ChildExitReason): void;
}

export class ChildDirectory {
  private readonly children = new Map<number, ChildEntry>();
  /** The child each client is with: a session that moved to a child whose cache fits is still held. */
  private readonly childOfConn = new Map<number, number>();
  /** Sockets handed to a worker and not yet reported taken or lost, per worker. */
  private readonly handedOver = new Map<number, Set<number>>();

  constructor(
    /** worker_processes, fixed for the supervisor's life. */
    readonly workerCount: number,
    private readonly events: DirectoryEvents,
  ) {}

  /** A worker's childState message: the only way an entry changes. */
  report(workerId: number, childId: number, state: ChildStateReport): void {
    const before = this.children.get(childId);
    switch (state.kind) {
      case 'idle':
        this.children.set(childId, { id: childId, workerId, connId: undefined, pooled: state.pooled });
        this.released(before, childId);
        return;
      case 'busy':
        this.settle(workerId, state.connId);
        this.children.set(childId, { id: childId, workerId, connId: state.connId, pooled: before?.pooled ?? 0 });
        this.childOfConn.set(state.connId, childId);
        return;
      case 'exited':
        this.children.delete(childId);
        this.released(before, childId);
        if (before) this.events.exited(before, state.reason);
        return;
    }
  }

  /** `childId` no longer serves its client: the client is done unless it moved to another child. */
  private released(before: ChildEntry | undefined, childId: number): void {
    const connId = before?.connId;
    if (connId === undefined || this.childOfConn.get(connId) !== childId) return;
    this.childOfConn.delete(connId);
    this.events.connDone(connId);
  }

  handOver(workerId: number, connId: number): void {
    let s = this.handedOver.get(workerId);
    if (!s) this.handedOver.set(workerId, (s = new Set()));
    s.add(connId);
  }

  /** The worker took (or lost) the socket of `connId`. */
  settle(workerId: number, connId: number): void {
    this.handedOver.get(workerId)?.delete(connId);
  }

  /** Drops everything of a worker that died; returns its children and the sockets on their way to it. */
  dropWorker(workerId: number): { children: ChildEntry[]; inFlight: number[] } {
    const children = [...this.children.values()].filter((c) => c.workerId === workerId);
    for (const c of children) {
      this.children.delete(c.id);
      if (c.connId !== undefined) this.childOfConn.delete(c.connId);
    }
    const inFlight = [...(this.handedOver.get(workerId) ?? [])];
    this.handedOver.delete(workerId);
    return { children, inFlight };
  }

  /** Children per worker that could take a client now. */
  freeByWorker(): number[] {
    const workerCount = this.workerCount;
    const free = Array<number>(workerCount).fill(0);
    for (const c of this.children.values()) if (c.connId === undefined && c.workerId < workerCount) free[c.workerId]++;
    for (const [w, s] of this.handedOver) if (w < workerCount) free[w] -= s.size;
    return free;
  }

  /** Children free in all workers. */
  get totalFree(): number {
    return totalFree(this.freeByWorker());
  }

  countByWorker(): number[] {
    const n = Array<number>(this.workerCount).fill(0);
    for (const c of this.children.values()) if (c.workerId < this.workerCount) n[c.workerId]++;
    return n;
  }

  /**
   * Idle children that may be retired, in id (slot) order: per worker at most as many as
   * are free once the sockets on their way there have taken theirs.
   */
  retirable(): ChildEntry[] {
    const workerCount = this.workerCount;
    const free = this.freeByWorker();
    const out: ChildEntry[] = [];
    for (const c of [...this.children.values()].sort((a, b) => a.id - b.id)) {
      if (c.connId === undefined && c.workerId < workerCount && free[c.workerId] > 0) {
        free[c.workerId]--;
        out.push(c);
      }
    }
    return out;
  }

  values(): IterableIterator<ChildEntry> {
    return this.children.values();
  }

  get(id: number): ChildEntry | undefined {
    return this.children.get(id);
  }

  get size(): number {
    return this.children.size;
  }

  get busy(): number {
    let n = 0;
    for (const c of this.children.values()) if (c.connId !== undefined) n++;
    return n;
  }
}
