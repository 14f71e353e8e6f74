// The supervisor's view of every child: which worker hosts it and whether it has a
// client. Free capacity per worker is derived (idle children minus sockets on their
// way to that worker), never kept as a separate counter that could drift.

export interface ChildRecord {
  readonly id: number;
  readonly workerId: number;
  readonly startedAt: number;
  /** Connection id of its client while busy. */
  connId: number | undefined;
  /** Connections in its cache, as of its last session's end. */
  pooled: number;
}

export class ChildTable {
  readonly children = new Map<number, ChildRecord>();
  /** Sockets sent to a worker that has not yet said which child took them, per worker. */
  private readonly inflight = new Map<number, Set<number>>();
  private nextId = 1;

  add(workerId: number): ChildRecord {
    const rec: ChildRecord = { id: this.nextId++, workerId, startedAt: Date.now(), connId: undefined, pooled: 0 };
    this.children.set(rec.id, rec);
    return rec;
  }

  remove(id: number): ChildRecord | undefined {
    const rec = this.children.get(id);
    this.children.delete(id);
    return rec;
  }

  dispatched(workerId: number, connId: number): void {
    let s = this.inflight.get(workerId);
    if (!s) this.inflight.set(workerId, (s = new Set()));
    s.add(connId);
  }

  /** The worker placed (or lost) the socket of `connId`. */
  settled(workerId: number, connId: number): void {
    this.inflight.get(workerId)?.delete(connId);
  }

  inflightOf(workerId: number): number[] {
    return [...(this.inflight.get(workerId) ?? [])];
  }

  /** Drops everything of a worker (it died); returns its children. */
  dropWorker(workerId: number): ChildRecord[] {
    const gone = [...this.children.values()].filter((c) => c.workerId === workerId);
    for (const c of gone) this.children.delete(c.id);
    this.inflight.delete(workerId);
    return gone;
  }

  freeByWorker(workerCount: number): number[] {
    const free = Array<number>(workerCount).fill(0);
    for (const c of this.children.values()) if (c.connId === undefined && c.workerId < workerCount) free[c.workerId]++;
    for (const [w, s] of this.inflight) if (w < workerCount) free[w] -= s.size;
    return free;
  }

  countByWorker(workerCount: number): number[] {
    const n = Array<number>(workerCount).fill(0);
    for (const c of this.children.values()) if (c.workerId < workerCount) n[c.workerId]++;
    return n;
  }

  /**
   * Idle children that may be retired, in id (slot) order: per worker at most as many
   * as are free once the sockets on their way there have taken theirs.
   */
  retirable(workerCount: number): ChildRecord[] {
    const free = this.freeByWorker(workerCount);
    const out: ChildRecord[] = [];
    for (const c of [...this.children.values()].sort((a, b) => a.id - b.id)) {
      if (c.connId === undefined && c.workerId < workerCount && free[c.workerId] > 0) {
        free[c.workerId]--;
        out.push(c);
      }
    }
    return out;
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
