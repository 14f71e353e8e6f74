// A pgpool "child" hosted in a worker: one client at a time, its own session pool (the
// connection cache), its counters. Its state machine (docs/architecture.md#state-machines)
// has one mutator, transition(), which arms child_life_time while idle and reports every
// change to the supervisor; pgpool's status string is derived from it in pgpoolStatus().
import type { ChildReport } from '../admin/process-report.js';
import type { ChildExitReason, ChildStateReport } from '../ipc/messages.js';
import type { PgpoolConfig } from '../config/schema.js';
import { lifeTimeDelay } from '../policy/child-retirement.js';
import { SessionPool, type PoolObservers } from './pooling/session-pool.js';
import type { Session } from './session/session.js';

export type ChildState =
  | { readonly kind: 'idle'; readonly since: number }
  | { readonly kind: 'busy'; readonly session: Session; readonly connId: number }
  | { readonly kind: 'exited'; readonly reason: ChildExitReason };

export interface ChildEvents {
  /** The child changed state (sent to the supervisor as childState). */
  changed(child: Child, report: ChildStateReport): void;
  /** child_life_time ran out while it was idle. */
  lifeTimeOver(child: Child): void;
}

export class Child {
  readonly startedAt = Date.now();
  /** Sessions finished (pgpool's client_connection_count), failed ones included. */
  sessions = 0;
  readonly pool: SessionPool;
  private current: ChildState = { kind: 'idle', since: Date.now() };
  private lifeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    private readonly config: () => PgpoolConfig,
    private readonly events: ChildEvents,
    observers: PoolObservers = {},
  ) {
    this.pool = new SessionPool(config, observers, () => this.cacheShrank());
  }

  /** Closes every cached connection (a node's status changed: pgpool's "discarding existing connections"). */
  dropCache(): void {
    if (this.pool.cache.entries.length === 0) return;
    this.pool.cache.clear();
    this.cacheShrank();
  }

  /** A cached connection expired or died: while idle, the supervisor hears the new count (retirement prefers empty caches). */
  private cacheShrank(): void {
    if (this.current.kind === 'idle')
      this.events.changed(this, { kind: 'idle', pooled: this.pool.cache.entries.length });
  }

  get state(): ChildState {
    return this.current;
  }

  get session(): Session | undefined {
    return this.current.kind === 'busy' ? this.current.session : undefined;
  }

  get busy(): boolean {
    return this.current.kind === 'busy';
  }

  /** When its last client left (ms epoch); undefined before the first. */
  lastDisconnect: number | undefined;

  /** The only mutator of the child's state. */
  transition(to: ChildState): void {
    const from = this.current;
    if (from.kind === 'exited') return;
    if (from.kind === 'idle' && this.lifeTimer) {
      clearTimeout(this.lifeTimer);
      this.lifeTimer = undefined;
    }
    if (to.kind === 'busy' && from.kind !== 'idle') throw new Error(`child ${this.id}: busy while ${from.kind}`);
    if (from.kind === 'busy' && to.kind === 'idle') this.lastDisconnect = to.since;
    this.current = to;
    switch (to.kind) {
      case 'idle': {
        const delay = lifeTimeDelay(this.sessions, this.config());
        if (delay !== undefined) {
          this.lifeTimer = setTimeout(() => this.events.lifeTimeOver(this), delay);
          this.lifeTimer.unref();
        }
        this.events.changed(this, { kind: 'idle', pooled: this.pool.cache.entries.length });
        return;
      }
      case 'busy':
        this.events.changed(this, { kind: 'busy', connId: to.connId });
        return;
      case 'exited':
        this.pool.cache.clear();
        this.events.changed(this, { kind: 'exited', reason: to.reason });
        return;
    }
  }
}

/** pgpool's status of a child (docs/behaviour.md#processes), derived from its state and its session's. */
export function pgpoolStatus(state: ChildState): ChildReport['status'] {
  if (state.kind !== 'busy') return 'Wait for connection';
  const s = state.session;
  switch (s.phase) {
    case 'startup':
    case 'authenticating':
    case 'connecting':
      return 'Connecting';
    case 'active': {
      const stream = s.relay?.stream;
      if (stream?.executing) return 'Execute command';
      return stream?.inTransaction ? 'Idle in transaction' : 'Idle';
    }
    case 'releasing':
    case 'ended':
      return 'Idle';
  }
}
