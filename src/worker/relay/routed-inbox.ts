// A routed session's client messages (relay/routed-relay.ts): cut into whole messages;
// each goes on at once when the open request cycle takes it (COPY data, a batch waiting on
// a Flush), or waits in order for the cycle it starts.
import { MessageReader } from '../../protocol/message-reader.js';

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

  /** Takes the waiting messages of a batch while `more` says they belong to it. */
  takeWhile(more: (m: Buffer) => boolean): Buffer[] {
    const out: Buffer[] = [];
    while (this.queue.length > 0 && more(this.queue[0])) out.push(this.queue.shift()!);
    return out;
  }

  /** The relay ended: whoever waits gets `e`. */
  close(e: Error): void {
    this.closedWith = e;
    this.wake?.();
  }
}
