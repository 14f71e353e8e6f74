// Hot-path framing of relayed streams: the one framer of a relayed client or server
// stream. Reads only the 5-byte message headers (type + int32 length) as chunks pass,
// keeping its state in plain fields: no allocation per message or per chunk, and the chunk
// itself is forwarded unchanged by the caller. What it learns goes into the relay's
// StreamState (stream-state.ts); a MessageTap, when one is set, sees each message's bytes.
import { BackendCode, FrontendCode } from './codes.js';
import type { StreamState } from './stream-state.js';

export const SCAN_CONTINUE = -1;

/** Thrown for a header whose length is below 4: the stream cannot be framed any more. */
export class FramingError extends Error {}

/** Sees the messages a scanner frames (statement and message logging); only set when wanted. */
export interface MessageTap {
  /** A message starts: its type and its body length. */
  start(type: number, bodyLength: number): void;
  /** Body bytes of the current message, chunk[from, to). */
  body(chunk: Buffer, from: number, to: number): void;
  /** The current message is complete. */
  end(): void;
}

/** One tap showing what it sees to both `a` and `b`; the one that is set when the other is not. */
export function joinTaps(a: MessageTap | undefined, b: MessageTap | undefined): MessageTap | undefined {
  if (!a || !b) return a ?? b;
  return {
    start: (type, bodyLength) => (a.start(type, bodyLength), b.start(type, bodyLength)),
    body: (chunk, from, to) => (a.body(chunk, from, to), b.body(chunk, from, to)),
    end: () => (a.end(), b.end()),
  };
}

/** Shows `tap` the whole message at b[at, end) (a relay that reads whole messages, or one a scanner's caller consumed). */
export function tapWhole(tap: MessageTap, b: Buffer, at = 0, end = b.length): void {
  tap.start(b[at], end - at - 5);
  if (end > at + 5) tap.body(b, at + 5, end);
  tap.end();
}

abstract class HeaderScanner {
  private remaining = 0; // body bytes of the current message still to pass
  private headerFill = 0; // header bytes seen of the next message (0..4 after type)
  private lengthAcc = 0;
  private type = 0;
  protected captureFirstByte = false;
  private tap: MessageTap | undefined;
  private pendingTap: MessageTap | undefined | null = null;

  constructor(protected readonly state: StreamState) {}

  /** Called at each message start; return true to stop scanning at `offset`. */
  protected abstract onType(type: number, offset: number): boolean;
  /** Called with the first body byte when onType asked for it. */
  protected onFirstByte(_b: number): void {}

  /** Shows messages to `tap` (undefined: to nobody) from the next message start on. */
  setTap(tap: MessageTap | undefined): void {
    this.pendingTap = tap;
    if (this.atBoundary) this.takePendingTap();
  }

  private takePendingTap(): void {
    if (this.pendingTap === null) return;
    this.tap = this.pendingTap;
    this.pendingTap = null;
  }

  /** Scans a chunk from `from`; returns the offset of a message where onType stopped, or SCAN_CONTINUE. */
  scan(chunk: Buffer, from = 0): number {
    const n = chunk.length;
    let i = from;
    while (i < n) {
      if (this.remaining > 0) {
        if (this.captureFirstByte) {
          this.captureFirstByte = false;
          this.onFirstByte(chunk[i]);
        }
        const take = this.remaining < n - i ? this.remaining : n - i;
        if (this.tap) this.tap.body(chunk, i, i + take);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0 && this.tap) this.tap.end();
        continue;
      }
      if (this.headerFill === 0) {
        if (this.pendingTap !== null) this.takePendingTap();
        if (this.onType(chunk[i], i)) return i;
        this.type = chunk[i];
        this.headerFill = 1;
        this.lengthAcc = 0;
        i++;
        continue;
      }
      this.lengthAcc = ((this.lengthAcc << 8) | chunk[i]) >>> 0;
      i++;
      if (++this.headerFill === 5) {
        this.headerFill = 0;
        if (this.lengthAcc < 4 || this.lengthAcc > 0x7fffffff)
          throw new FramingError(`invalid message length ${this.lengthAcc}`);
        this.remaining = this.lengthAcc - 4;
        if (this.tap) this.tap.start(this.type, this.remaining);
        if (this.remaining === 0) {
          this.captureFirstByte = false;
          if (this.tap) this.tap.end();
        }
      }
    }
    return SCAN_CONTINUE;
  }

  /**
   * A whole message at chunk[at, end) that the caller consumes instead of passing it on
   * (a Terminate, a pooler command it answers): shown to the tap, not counted.
   */
  consumed(chunk: Buffer, at: number, end: number): void {
    if (this.tap) tapWhole(this.tap, chunk, at, end);
  }

  /** The type of the message passing, or of the last one passed (0 before any). */
  get messageType(): number {
    return this.type;
  }

  /** True between messages (no partial header or body pending). */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.headerFill === 0;
  }
}

/**
 * Client → server. Counts the requests that will each end in a ReadyForQuery (Query,
 * Sync, FunctionCall), notes extended-protocol messages not yet followed by Sync, and
 * stops at Terminate so that it never reaches a connection that will be cached.
 */
export class FrontendScanner extends HeaderScanner {
  /** Stop at each simple Query too, so that a hook can look at it (SHOW pool_*). */
  stopAtQuery = false;
  /** Set by the caller to let the Query it just looked at pass on the next scan. */
  passQuery = false;

  protected onType(type: number, _offset: number): boolean {
    const s = this.state;
    switch (type) {
      case FrontendCode.Terminate:
        return true;
      case FrontendCode.Query:
        if (this.stopAtQuery && !this.passQuery) return true;
        this.passQuery = false;
        s.requestSent();
        return false;
      case FrontendCode.FunctionCall:
        s.requestSent();
        return false;
      case FrontendCode.Sync:
        s.requestSent();
        s.unsynced = false;
        return false;
      case FrontendCode.Parse:
      case FrontendCode.Bind:
      case FrontendCode.Execute:
      case FrontendCode.Describe:
      case FrontendCode.Close:
      case FrontendCode.Flush:
        s.unsynced = true;
        return false;
      default:
        return false;
    }
  }
}

/**
 * Server → client. Counts ReadyForQuery messages, keeps the last transaction status, and
 * notes a COPY FROM STDIN in progress (so a departing client's COPY can be failed at once).
 */
export class BackendScanner extends HeaderScanner {
  protected onType(type: number): boolean {
    if (type === BackendCode.ReadyForQuery) {
      this.captureFirstByte = true;
      this.state.inCopyIn = false;
    } else if (type === BackendCode.CopyInResponse) {
      this.state.inCopyIn = true;
    }
    return false;
  }

  protected override onFirstByte(b: number): void {
    this.state.readyReceived(b);
  }
}
