// Awaitable whole messages from a socket, for the phases where the pooler itself talks
// to PostgreSQL (start-up, authentication, reset). Detached before relaying starts.
import type net from 'node:net';
import { MessageReader, type Message } from './message-reader.js';

export class StreamClosedError extends Error {}
export class StreamTimeoutError extends Error {}

export class MessageStream {
  private readonly reader = new MessageReader();
  private waiter: ((m: Message | Error) => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    this.wake();
  };
  private readonly onClose = () => {
    this.failure ??= new StreamClosedError('connection closed');
    this.wake();
  };
  private readonly onError = (e: Error) => {
    this.failure ??= e;
    this.wake();
  };

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.resume();
  }

  private wake(): void {
    if (!this.waiter) return;
    let m: Message | Error | undefined;
    try {
      m = this.reader.next() ?? this.failure;
    } catch (e) {
      m = e as Error;
    }
    if (m === undefined) return;
    const w = this.waiter;
    this.waiter = undefined;
    w(m);
  }

  next(timeoutMs: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.waiter = undefined;
              reject(new StreamTimeoutError(`no answer within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.waiter = (m) => {
        if (timer) clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else resolve(m);
      };
      this.wake();
    });
  }

  /** Stops listening; returns bytes received beyond the last message taken. A next() still waiting fails. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    const w = this.waiter;
    this.waiter = undefined;
    w?.(new StreamClosedError('detached'));
    return this.reader.rest();
  }
}
