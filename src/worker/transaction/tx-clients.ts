// Transaction pooling's clients (docs/transaction-pooling.md): every session this worker
// holds, busy or idle, and the first-come-first-served wait for a child, which a client
// needs for its start-up and for each transaction, and gives back in between.
import type { StopMode } from '../../ipc/messages.js';
import { poolerError } from '../../protocol/errors.js';
import type { Child } from '../child.js';
import type { Children } from '../children.js';
import type { Session } from '../session/session.js';
import { TxRelay } from './tx-relay.js';
import { WaitLine, type Place } from './wait-line.js';

interface Waiter {
  readonly session: Session;
  readonly connId: number;
  readonly limitSeconds: number;
  readonly resolve: (child: Child) => void;
  readonly reject: (e: Error) => void;
}

export class TxClients {
  /** Every transaction-mode session of this worker, from accept to its end (add/remove change it). */
  private readonly all = new Set<Session>();
  private readonly waiting = new WaitLine<Waiter>();
  /** The line's one query_wait_timeout timer, due at its earliest deadline. */
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  /** Each waiting session's place (a session waits once at a time). */
  private readonly places = new Map<Session, Place<Waiter>>();

  constructor(
    private readonly children: () => Children,
    /**
     * The count changed (the supervisor places clients a full worker hands back by it);
     * `roomAgain`: this worker had its share of max_client_conn and has room now, which the
     * supervisor must know at once (it refuses a client when no worker has room).
     */
    private readonly counted: (clients: number, roomAgain: boolean) => void,
    /** This worker's share of max_client_conn (policy/admission.ts). */
    private readonly share: () => number,
  ) {}

  get sessions(): ReadonlySet<Session> {
    return this.all;
  }

  get size(): number {
    return this.all.size;
  }

  add(session: Session): void {
    this.all.add(session);
    this.counted(this.all.size, false);
  }

  remove(session: Session): void {
    // Room again: it held exactly its share, and now one less.
    if (this.all.delete(session)) this.counted(this.all.size, this.all.size === this.share() - 1);
  }

  /** The clients by what they hold (metrics); a waiting client counts as waiting only. */
  counts(): { idle: number; active: number; pinned: number; waiting: number } {
    const c = { idle: 0, active: 0, pinned: 0, waiting: this.waiting.length };
    for (const s of this.sessions) {
      const relay = s.relay;
      if (relay instanceof TxRelay && relay.pins.length > 0) c.pinned++;
      else if (relay instanceof TxRelay && relay.held) c.active++;
      else c.idle++;
    }
    c.idle = Math.max(0, c.idle - c.waiting);
    return c;
  }

  /** A child for `session` now, when one is idle and nobody waits; else undefined (enter() waits). */
  enterNow(session: Session, connId: number): Child | undefined {
    return this.waiting.length === 0 ? this.children().take(connId, () => session) : undefined;
  }

  /** A child for `session`, busy with it: at once when one is idle and nobody waits, else in turn; `timeoutMs` 0 = forever. */
  enter(session: Session, connId: number, timeoutMs: number, limitSeconds: number): Promise<Child> {
    const now = this.enterNow(session, connId);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
      this.places.set(session, this.waiting.push({ session, connId, limitSeconds, resolve, reject }, deadline));
      if (deadline > 0) this.armTimer(deadline);
    });
  }

  /** The timer fires by the earliest deadline (a reload may shorten query_wait_timeout for later waiters). */
  private armTimer(deadline: number): void {
    if (this.timer && this.timerDue <= deadline) return;
    clearTimeout(this.timer);
    this.timerDue = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
  }

  private expire(): void {
    this.timer = undefined;
    for (const w of this.waiting.takeExpired(performance.now())) {
      this.places.delete(w.session);
      w.reject(poolerError('QUERY_WAIT_TIMEOUT', { limit: w.limitSeconds }));
    }
    const next = this.waiting.earliestDeadline();
    if (next > 0) this.armTimer(next);
  }

  /** The session's child is free again for the next one in line. */
  leave(child: Child): void {
    this.children().finished(child, false);
  }

  /** A session that ended while waiting leaves the line (its promise fails). */
  abandon(session: Session, why: Error): void {
    const place = this.places.get(session);
    if (!place) return;
    this.places.delete(session);
    if (this.waiting.remove(place)) place.item.reject(why);
  }

  /**
   * A child became idle (called inside its transition): the first waiter takes it, after
   * the transition is over. Nothing is scheduled while nobody waits (session mode, or an idle pool).
   */
  childFreed(): void {
    if (this.waiting.length > 0 && !this.waking) {
      this.waking = true;
      queueMicrotask(() => this.wake());
    }
  }

  private waking = false;

  private wake(): void {
    this.waking = false;
    for (let place = this.waiting.first(); place; place = this.waiting.first()) {
      const w = place.item;
      const child = this.children().take(w.connId, () => w.session);
      if (!child) return;
      this.waiting.remove(place);
      this.places.delete(w.session);
      w.resolve(child);
    }
  }

  /**
   * Shutdown: nobody waits for a child any more; fast and immediate end every client now,
   * smart the clients between transactions (the others at their transaction's end).
   */
  shutdown(mode: StopMode): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.places.clear();
    for (const w of this.waiting.drain()) w.reject(poolerError('SHUTDOWN'));
    for (const s of this.sessions) {
      const relay = s.relay;
      if (mode === 'smart' && relay instanceof TxRelay && s.conn) relay.stopWhenIdle('shutdown');
      else s.stop('shutdown', mode === 'immediate' ? undefined : poolerError('SHUTDOWN'));
    }
  }
}
