// THE authority over a worker's children (docs/architecture.md#who-owns-what): it creates,
// places clients on and retires them, and every transition of every child is reported to
// the supervisor as one childState message, which is all the supervisor's directory knows.
import type { PgpoolConfig } from '../config/schema.js';
import type { ChildExitReason, FromWorker, StopMode } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import { exitAfterSession } from '../policy/child-retirement.js';
import { poolerError } from '../protocol/errors.js';
import { Child, type ChildEvents } from './child.js';
import type { PoolObservers } from './pooling/session-pool.js';
import type { Session } from './session/session.js';

export interface ChildrenDeps {
  config(): PgpoolConfig;
  log(): Logger;
  send(m: FromWorker): void;
  /** Durations of each child's pool (metrics). */
  readonly observers: PoolObservers;
  /** The worker has no child left while stopping. */
  empty(): void;
  /** A child became idle (transaction mode: the next waiting client takes it). */
  freed?(): void;
}

export class Children {
  private readonly all = new Map<number, Child>();
  /** The children without a client: membership follows every transition, so it is a count that cannot drift. */
  private readonly idle = new Set<Child>();
  /** What children that exited had counted (metrics), so totals survive them. */
  readonly exitedTotals = { cache: { hits: 0, misses: 0, evictions: 0 }, exits: new Map<string, number>() };
  private stopping: StopMode | undefined;
  private readonly events: ChildEvents = {
    changed: (child, state) => {
      if (state.kind === 'idle') this.idle.add(child);
      else this.idle.delete(child);
      this.deps.send({ t: 'childState', childId: child.id, state });
      if (state.kind === 'idle') this.deps.freed?.();
    },
    lifeTimeOver: (child) => {
      if (!child.busy) this.exit(child, 'life_time');
    },
  };

  constructor(private readonly deps: ChildrenDeps) {}

  values(): IterableIterator<Child> {
    return this.all.values();
  }

  get size(): number {
    return this.all.size;
  }

  /** How many children have no client. */
  get idleCount(): number {
    return this.idle.size;
  }

  get stopMode(): StopMode | undefined {
    return this.stopping;
  }

  spawn(id: number): void {
    const child = new Child(id, this.deps.config, this.events, this.deps.observers);
    this.all.set(id, child);
    this.events.changed(child, { kind: 'idle', pooled: 0 });
  }

  retire(id: number): void {
    const child = this.all.get(id);
    if (child && !child.busy) this.exit(child, 'retired');
  }

  /** An idle child for a new client, now busy with its session; undefined when none is idle. */
  take(connId: number, session: (child: Child) => Session): Child | undefined {
    for (const child of this.idle) {
      child.transition({ kind: 'busy', session: session(child), connId });
      return child;
    }
    return undefined;
  }

  /**
   * The startup packet of `child`'s session is in: an idle child whose cache holds its
   * connection takes the session over (pgpool's children pick by their cache too).
   */
  settle(child: Child, session: Session, user: string, database: string, key: Buffer): Child {
    if (child.pool.cache.hasMatch(user, database, key) || child.state.kind !== 'busy') return child;
    let better: Child | undefined;
    for (const c of this.idle) if (c.pool.cache.hasMatch(user, database, key)) better ??= c;
    if (!better) return child;
    const { connId } = child.state;
    // The new child first: the supervisor then sees the client held throughout (child-directory.ts).
    better.transition({ kind: 'busy', session, connId });
    child.transition({ kind: 'idle', since: Date.now() });
    return better;
  }

  /** The child's session ended (`counted`: it got past the startup packet): exit, or wait for the next client. */
  finished(child: Child, counted: boolean): void {
    if (counted) child.sessions++;
    const reason = this.stopping ? 'shutdown' : exitAfterSession(child.sessions, this.deps.config());
    if (reason) this.exit(child, reason);
    else child.transition({ kind: 'idle', since: Date.now() });
  }

  exit(child: Child, reason: ChildExitReason): void {
    if (!this.all.delete(child.id)) return;
    const t = this.exitedTotals;
    t.exits.set(reason, (t.exits.get(reason) ?? 0) + 1);
    for (const k of ['hits', 'misses', 'evictions'] as const) t.cache[k] += child.pool.cache.stats[k];
    child.transition({ kind: 'exited', reason });
    const log = this.deps.log();
    if (reason === 'max_connections')
      log.info({ child: child.id }, `child exiting, ${child.sessions} connections reached`);
    else log.debug({ child: child.id, reason }, 'child exiting');
    if (this.stopping && this.all.size === 0) this.deps.empty();
  }

  /** Smart: idle children exit, busy ones when their client is done; fast and immediate end sessions too. */
  /**
   * A node's status changed (docs/behaviour.md#failover): sessions end as pgpool's killed
   * children do (the client's connection closes without a message) — every one, or those
   * using `node` — and every child's cached connections are dropped.
   */
  endSessions(node: number, scope: 'all' | 'node'): void {
    for (const child of this.all.values()) {
      const s = child.session;
      if (s && (scope === 'all' || s.usesNode(node))) s.stop('failover');
      child.dropCache();
    }
  }

  shutdown(mode: StopMode): void {
    this.stopping = mode;
    for (const child of [...this.all.values()]) {
      if (!child.busy) this.exit(child, 'shutdown');
      else if (mode !== 'smart') child.session!.stop('shutdown', mode === 'fast' ? poolerError('SHUTDOWN') : undefined);
    }
    if (this.all.size === 0) this.deps.empty();
  }
}
