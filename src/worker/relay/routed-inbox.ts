// A routed session's client messages (relay/routed-relay.ts): cut into whole messages;
// each goes on at once when the open request cycle takes it (COPY data, a batch waiting on
// a Flush), or waits in order for the cycle it starts, which the pump here starts when no
// cycle is in flight (or a cycle that skips to its Sync awaits it).
import { FrontendCode } from '../../protocol/codes.js';
import { MessageReader } from '../../protocol/message-reader.js';
import { isExtendedOrSync } from './routed-cycle.js';
import { PENDING, type Step, type StepEnd } from './routed-one-node.js';

export class RoutedInbox {
  private readonly reader = new MessageReader();
  private readonly queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private closedWith: Error | undefined;
  /** A cycle is in flight; `pumping`: the pump is on the stack (a cycle that ends at once does not re-enter it). */
  private busy = false;
  private pumping = false;

  constructor(
    /** The open cycle takes `m` now: true when it did. Called only while nothing waits in the queue. */
    private readonly immediate: (m: Buffer) => boolean,
    /** Starts the cycle `first` opens. */
    private readonly cycle: (first: Buffer) => Step,
    /** A cycle failed (the relay ends). */
    private readonly failed: (e: Error) => void,
  ) {}

  /** Bytes from the client; throws on a message length no client may send. */
  push(chunk: Buffer): void {
    this.reader.push(chunk);
    for (let msg = this.reader.nextRaw(); msg; msg = this.reader.nextRaw()) {
      // Node gives each read its own buffer: the message may keep a view of it.
      if (this.queue.length === 0 && this.immediate(msg)) continue;
      this.queue.push(msg);
      this.wake?.();
    }
    // Once the whole chunk is cut: an extended cycle's batch is what came with it.
    if (this.queue.length > 0) this.pump();
  }

  /** Starts the waiting cycles, one at a time, while none is in flight. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.busy && !this.closedWith && this.queue.length > 0) {
        this.busy = true;
        const step = this.cycle(this.queue.shift()!);
        if (step === undefined) this.busy = false;
        else if (step !== PENDING) step.then(this.settled, this.failed);
      }
    } catch (e) {
      this.failed(e as Error);
    } finally {
      this.pumping = false;
    }
  }

  /** The cycle in flight ended. */
  readonly cycleDone = (): void => {
    this.busy = false;
    // Not inside the node's read: what else its chunk holds is read first, as between requests.
    if (this.queue.length > 0) queueMicrotask(this.pumpLater);
  };
  private readonly pumpLater = (): void => this.pump();
  /** A step that waited is over: the cycle with it, unless it went on as a one-node cycle (which calls cycleDone). */
  private readonly settled = (step: StepEnd): void => {
    if (step !== PENDING) this.cycleDone();
  };

  /** The next message, waiting for it (a cycle that skips to its Sync). */
  next(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        if (this.closedWith) {
          reject(this.closedWith);
          return true;
        }
        const m = this.queue.shift();
        if (!m) return false;
        this.wake = undefined;
        resolve(m);
        return true;
      };
      if (!take()) this.wake = () => void take();
    });
  }

  /**
   * Appends to `batch` (which holds the cycle's first message) the waiting messages of the
   * same extended-protocol cycle, up to and including its Sync.
   */
  takeCycle(batch: Buffer[]): void {
    let synced = batch[batch.length - 1][0] === FrontendCode.Sync;
    while (!synced && this.queue.length > 0 && isExtendedOrSync(this.queue[0][0])) {
      const m = this.queue.shift()!;
      batch.push(m);
      synced = m[0] === FrontendCode.Sync;
    }
  }

  /** The relay ended: whoever waits gets `e`. */
  close(e: Error): void {
    this.closedWith = e;
    this.wake?.();
  }
}
