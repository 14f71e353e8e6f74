// A routed session's client messages (relay/routed-relay.ts): cut into whole messages;
// each goes on at once when the open request cycle takes it (COPY data, a batch waiting on
// a Flush), or waits in order for the cycle it starts.
import { FrontendCode } from '../../protocol/codes.js';
import { MessageReader } from '../../protocol/message-reader.js';
import { isExtendedOrSync } from './routed-cycle.js';

export class RoutedInbox {
  private readonly reader = new MessageReader();
  private readonly queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private closedWith: Error | undefined;

  constructor(
    /** The open cycle takes `m` now: true when it did. Called only while nothing waits in the queue. */
    private readonly immediate: (m: Buffer) => boolean,
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
  }

  /** The next message that starts a cycle (or what the cycle asks for when it skips to its Sync). */
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
