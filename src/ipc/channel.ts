// The mechanics of the IPC channel both sides share: batching a turn's messages into one
// write, matching answers to requests, and the exhaustiveness check of every switch.

/** Compile-time proof that a switch handled every member of a union. */
export function assertNever(x: never, what = 'message'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(x)}`);
}

/**
 * Collects the messages of one event-loop turn and sends them as one (a pipe write is a
 * system call). A lazy message is one only its latest version of matters (a child's state
 * while nobody waits on it): it is kept by key, replaced by a later one of the same key, and
 * goes out within `lazyMs`, or at once, before them, with the next message that cannot wait.
 */
export class Outbox<M> {
  private readonly pending: M[] = [];
  private readonly lazy = new Map<number, M>();
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (m: M) => void,
    private readonly batch: (messages: M[]) => M,
    private readonly lazyMs = 100,
  ) {}

  push(m: M): void {
    this.takeLazy();
    if (this.pending.push(m) === 1) setImmediate(this.flush);
  }

  /** A message that may wait up to lazyMs and be replaced by a later one of the same key (unless `now`: it goes with this turn's). */
  pushLazy(key: number, m: M, now = false): void {
    if (now) {
      this.lazy.delete(key);
      return this.push(m);
    }
    this.lazy.delete(key); // a replaced one goes where its latest version was made
    this.lazy.set(key, m);
    if (!this.lazyTimer) {
      this.lazyTimer = setTimeout(this.flushLazy, this.lazyMs);
      this.lazyTimer.unref();
    }
  }

  /** Sends what is queued now (before a message that must follow it but cannot be queued). */
  flushNow(): void {
    this.takeLazy();
    if (this.pending.length > 0) this.flush();
  }

  private takeLazy(): void {
    if (this.lazy.size === 0) return;
    const wasEmpty = this.pending.length === 0;
    for (const m of this.lazy.values()) this.pending.push(m);
    this.lazy.clear();
    if (wasEmpty) setImmediate(this.flush);
  }

  private readonly flushLazy = (): void => {
    this.lazyTimer = undefined;
    if (this.lazy.size > 0) this.flushNow();
  };

  private readonly flush = (): void => {
    const messages = this.pending.splice(0);
    if (messages.length === 0) return;
    this.send(messages.length === 1 ? messages[0] : this.batch(messages));
  };
}

/**
 * Requests sent to several peers (or one) and the answers collected by request id:
 * resolves with every answer that came within the timeout.
 */
export class Requests {
  private nextId = 1;
  private readonly open = new Map<number, (answer: unknown) => void>();

  /** Sends with `send(reqId)` (which returns how many peers were asked) and collects their answers. */
  ask<T>(send: (reqId: number) => number, timeoutMs: number): Promise<T[]> {
    const reqId = this.nextId++;
    const asked = send(reqId);
    return new Promise((resolve) => {
      const got: T[] = [];
      const done = () => {
        clearTimeout(timer);
        this.open.delete(reqId);
        resolve(got);
      };
      const timer = setTimeout(done, timeoutMs);
      this.open.set(reqId, (answer) => {
        got.push(answer as T);
        if (got.length >= asked) done();
      });
      if (asked === 0) done();
    });
  }

  /** An answer arrived; answers to requests that are closed are dropped. */
  answer(reqId: number, value: unknown): void {
    this.open.get(reqId)?.(value);
  }
}
