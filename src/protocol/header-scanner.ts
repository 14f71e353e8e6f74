// Hot-path framing of relayed streams. Reads only the 5-byte message headers (type +
// int32 length) as chunks pass, keeping its state in plain fields: no allocation per
// message or per chunk, and the chunk itself is forwarded unchanged by the caller.
import { BackendCode, FrontendCode } from './codes.js';

export const SCAN_CONTINUE = -1;

/** Thrown for a header whose length is below 4: the stream cannot be framed any more. */
export class FramingError extends Error {}

abstract class HeaderScanner {
  private remaining = 0; // body bytes of the current message still to pass
  private headerFill = 0; // header bytes seen of the next message (0..4 after type)
  private lengthAcc = 0;
  protected captureFirstByte = false;

  /** Called at each message start; return true to stop scanning at `offset`. */
  protected abstract onType(type: number, offset: number): boolean;
  /** Called with the first body byte when onType asked for it. */
  protected onFirstByte(_b: number): void {}

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
        this.remaining -= take;
        i += take;
        continue;
      }
      if (this.headerFill === 0) {
        if (this.onType(chunk[i], i)) return i;
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
        if (this.remaining === 0) this.captureFirstByte = false;
      }
    }
    return SCAN_CONTINUE;
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
  /** Requests sent that the server answers with ReadyForQuery. */
  readyRequests = 0;
  /** Extended-protocol messages sent since the last Sync. */
  unsynced = false;
  /** Stop at each simple Query too, so that a hook can look at it (SHOW pool_*). */
  stopAtQuery = false;
  /** Set by the caller to let the Query it just looked at pass on the next scan. */
  passQuery = false;
  /** Called for each request counted (query timing); undefined when nobody times. */
  onRequest: (() => void) | undefined;

  protected onType(type: number, _offset: number): boolean {
    switch (type) {
      case FrontendCode.Terminate:
        return true;
      case FrontendCode.Query:
        if (this.stopAtQuery && !this.passQuery) return true;
        this.passQuery = false;
        this.readyRequests++;
        this.onRequest?.();
        return false;
      case FrontendCode.FunctionCall:
        this.readyRequests++;
        this.onRequest?.();
        return false;
      case FrontendCode.Sync:
        this.readyRequests++;
        this.onRequest?.();
        this.unsynced = false;
        return false;
      case FrontendCode.Parse:
      case FrontendCode.Bind:
      case FrontendCode.Execute:
      case FrontendCode.Describe:
      case FrontendCode.Close:
      case FrontendCode.Flush:
        this.unsynced = true;
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
  readyCount = 0;
  /** 'I' idle, 'T' in transaction, 'E' failed transaction (as a byte). */
  txStatus = 0x49;
  /** The server waits for CopyData from the client (CopyInResponse seen, no ReadyForQuery since). */
  inCopyIn = false;
  /** Called with each ReadyForQuery's transaction status (query timing). */
  onReady: ((status: number) => void) | undefined;

  protected onType(type: number): boolean {
    if (type === BackendCode.ReadyForQuery) {
      this.captureFirstByte = true;
      this.inCopyIn = false;
    } else if (type === BackendCode.CopyInResponse) {
      this.inCopyIn = true;
    }
    return false;
  }

  protected override onFirstByte(b: number): void {
    this.txStatus = b;
    this.readyCount++;
    this.onReady?.(b);
  }
}
