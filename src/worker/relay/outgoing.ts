// Bytes on their way to one socket (the transaction-mode relay, a routed session's legs):
// the messages a relay forwards are views of the chunks they came in, so consecutive ones
// are joined back into one view of the same memory (no copy), and what is not contiguous
// goes out corked, as one writev.
import type net from 'node:net';

export class Outgoing {
  /** Sealed parts before `first`; made only when a write has more than one. */
  private parts: Buffer[] | undefined;
  /** The last part, as a span of memory that contiguous pushes extend. */
  private first: Buffer | undefined;
  /** `first`'s memory, read once when a push may extend it: a typed array's `.buffer` is a call into V8's runtime. */
  private firstMemory: ArrayBufferLike | undefined;
  private end = 0;
  /** Bytes pushed since the last write. */
  bytes = 0;

  push(b: Buffer): void {
    this.bytes += b.length;
    // The offset first: reading `.buffer` costs more than comparing two numbers.
    if (this.first && b.byteOffset === this.end && b.buffer === (this.firstMemory ??= this.first.buffer)) {
      this.end += b.length;
      return;
    }
    this.seal();
    this.first = b;
    this.firstMemory = undefined;
    this.end = b.byteOffset + b.length;
  }

  get empty(): boolean {
    return this.first === undefined && !this.parts?.length;
  }

  /** The span `first` … `end` as one buffer. */
  private span(): Buffer | undefined {
    const f = this.first;
    if (!f) return undefined;
    const memory = this.firstMemory;
    this.first = this.firstMemory = undefined;
    const len = this.end - f.byteOffset;
    // Extended only after its memory was read.
    return len === f.length ? f : Buffer.from(memory!, f.byteOffset, len);
  }

  private seal(): void {
    const b = this.span();
    if (b) (this.parts ??= []).push(b);
  }

  /** Writes everything and forgets it; socket.write's answer (false: wait for drain). */
  writeTo(socket: net.Socket): boolean {
    this.bytes = 0;
    if (!this.parts?.length) {
      const b = this.span();
      return b ? socket.write(b) : true;
    }
    this.seal();
    const parts = this.parts;
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p);
    socket.uncork();
    parts.length = 0;
    return ok;
  }
}

/**
 * Writes `out` to `to`; when `to` cannot take more, `other` (the socket feeding it, if any)
 * pauses until it drains, so memory stays bounded both ways.
 */
export function flushTo(out: Outgoing, to: net.Socket, other: net.Socket | undefined): void {
  if (out.empty || out.writeTo(to) || !other) return;
  other.pause();
  to.once('drain', () => other.resume());
}

/**
 * What holds bytes for a socket until the end of the event loop's turn. Anyone about to
 * write to that socket directly (an error, a reset's query) calls writePending() first, so
 * that nothing overtakes what waits.
 */
export interface PendingWriter {
  writePending(): void;
}

const turnFlushes: (PendingWriter | undefined)[] = [];
/** Writers queued this turn (the array keeps its length: no resize per turn). */
let turnCount = 0;
let turnScheduled = false;

/**
 * Replies to clients go out after the turn's other work (docs/transaction-pooling.md#sizing):
 * the backend writes of the transactions that start in this turn first, so PostgreSQL works
 * while the replies are written, and a client with many connections (pgbench, a driver's
 * pool) is woken once for the replies of the whole turn, not once per reply. One
 * setImmediate per turn for every writer of the worker.
 */
export function writeAtTurnEnd(f: PendingWriter): void {
  turnFlushes[turnCount++] = f;
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(flushTurn);
}

function flushTurn(): void {
  turnScheduled = false;
  // A flush may queue another (a paused socket resumed): it joins this loop.
  for (let i = 0; i < turnCount; i++) {
    const f = turnFlushes[i]!;
    turnFlushes[i] = undefined;
    f.writePending();
  }
  turnCount = 0;
}
