// Process management (docs/behaviour.md#process-management): the children started at
// start, a replacement for every child that exits in static mode, and in dynamic mode
// pgpool's spare-children check every 2 s (and at once when a client has to wait).
import type { PgpoolConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { leastLoaded } from '../policy/admission.js';
import { initialChildren, selectVictims, spareCheck } from '../policy/spare-children.js';
import type { ChildDirectory } from './child-directory.js';
import type { WorkerPool } from './worker-pool.js';

/** pgpool's main loop wakes every 2 s (4.4+); the spare-children check runs then. */
export const SPARE_CHECK_INTERVAL_MS = 2000;

export class ProcessManager {
  private nextChildId = 1;
  /** Children asked of a worker that has not reported them yet, by id → worker. */
  private readonly starting = new Map<number, number>();
  private highLoadCounter = 0;
  private started = false;
  private stopped = false;

  constructor(
    private readonly config: () => PgpoolConfig,
    private readonly log: () => Logger,
    private readonly directory: ChildDirectory,
    private readonly workers: WorkerPool,
  ) {}

  /** Children, the ones still starting included. */
  get childCount(): number {
    return this.directory.size + this.starting.size;
  }

  startInitial(): void {
    this.started = true;
    const cfg = this.config();
    for (let i = 0; i < initialChildren(cfg.process_management_mode, cfg); i++) this.spawn();
  }

  /** A child's first report arrived. */
  reported(childId: number): void {
    this.starting.delete(childId);
  }

  /** A child exited: static mode replaces it at once (dynamic mode: the spare check decides). */
  childExited(): void {
    if (!this.stopped && this.config().process_management_mode === 'static') this.spawn();
  }

  /** Worker `w` was restarted: static mode gives it back as many children as it lost. */
  workerRestarted(w: number, lost: number): void {
    if (this.config().process_management_mode !== 'static') return;
    for (let i = 0; i < lost; i++) this.spawn(w);
  }

  /** Forgets what a dead worker was starting. */
  workerDied(w: number): number {
    let n = 0;
    for (const [id, worker] of this.starting)
      if (worker === w) {
        this.starting.delete(id);
        n++;
      }
    return n;
  }

  stop(): void {
    this.stopped = true;
    this.highLoadCounter = 0;
  }

  /** Dynamic process management: one pgpool check; true when children were started. */
  checkSpareChildren(): boolean {
    const cfg = this.config();
    if (!this.started || this.stopped || cfg.process_management_mode !== 'dynamic') {
      this.highLoadCounter = 0;
      return false;
    }
    const r = spareCheck(this.childCount, this.directory.totalFree + this.starting.size, this.highLoadCounter, cfg);
    this.highLoadCounter = r.highLoadCounter;
    switch (r.decision.kind) {
      case 'spawn':
        for (let i = 0; i < r.decision.count; i++) this.spawn();
        this.log().info(
          { spawned: r.decision.count, children: this.childCount },
          'spawned children to keep min_spare_children idle',
        );
        return true;
      case 'retire':
        for (const id of selectVictims(this.directory.retirable(), r.decision.count, cfg.process_management_strategy)) {
          const entry = this.directory.get(id)!;
          this.log().info({ child: id }, 'asking child to exit to satisfy max_spare_children');
          this.workers.send(entry.workerId, { t: 'retire', childId: id });
        }
        return false;
      case 'none':
        return false;
    }
  }

  private spawn(onWorker?: number): void {
    const counts = this.directory.countByWorker();
    for (const w of this.starting.values()) counts[w]++;
    const w = onWorker ?? leastLoaded(counts);
    const id = this.nextChildId++;
    this.starting.set(id, w);
    this.workers.send(w, { t: 'spawn', childId: id });
  }
}
