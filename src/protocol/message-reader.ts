// Cuts a byte stream into whole typed messages (type byte + int32 length) for the
// start-up, authentication and reset phases. Not used on the relay hot path.

export interface Message {
  readonly type: number;
  /** The whole message, header included, for forwarding verbatim. */
  readonly raw: Buffer;
  /** The body after the length word. */
  readonly body: Buffer;
}

/** A whole message as its bytes (header included) seen as a Message: its type and a view of its body. */
export const asMessage = (raw: Buffer): Message => ({ type: raw[0], raw, body: raw.subarray(5) });

/** The one empty buffer every reader starts and ends with (idle transaction-mode clients have one reader each). */
const EMPTY = Buffer.alloc(0);

export class MessageReader {
  private buf: Buffer = EMPTY;
  /** Where the next message starts in `buf`: a message taken moves it, no view of the rest made. */
  private pos = 0;
  /** Chunks after `buf` not yet joined to it: a long message is copied once when whole, not at every chunk. */
  private later: Buffer[] | undefined;
  private laterBytes = 0;

  constructor(private readonly maxLength: number = 1 << 30) {}

  push(chunk: Buffer): void {
    if (this.pos === this.buf.length && this.laterBytes === 0) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      (this.later ??= []).push(chunk);
      this.laterBytes += chunk.length;
    }
  }

  /** Bytes held: those of messages not taken yet, whole or not. */
  get buffered(): number {
    return this.buf.length - this.pos + this.laterBytes;
  }

  private join(): void {
    if (this.laterBytes === 0 || !this.later) return;
    this.buf = Buffer.concat([this.pos === 0 ? this.buf : this.buf.subarray(this.pos), ...this.later]);
    this.pos = 0;
    // Dropped, not emptied: most readers never need it again (an idle client's keeps nothing).
    this.later = undefined;
    this.laterBytes = 0;
  }

  /** The next complete message, or undefined; throws on a length outside 4..maxLength. */
  next(): Message | undefined {
    const raw = this.nextRaw();
    return raw === undefined ? undefined : asMessage(raw);
  }

  /** The next complete message as its bytes alone (header included): no Message made for it. */
  nextRaw(): Buffer | undefined {
    if (this.buffered < 5) return undefined;
    if (this.buf.length - this.pos < 5) this.join();
    const at = this.pos;
    const len = this.buf.readInt32BE(at + 1);
    if (len < 4 || len > this.maxLength)
      throw new Error(`invalid message length ${len} for message type "${String.fromCharCode(this.buf[at])}"`);
    if (this.buf.length - at < len + 1) {
      if (this.buffered < len + 1) return undefined;
      this.join();
      return this.nextRaw();
    }
    const end = at + len + 1;
    const raw = at === 0 && end === this.buf.length ? this.buf : this.buf.subarray(at, end);
    // Nothing left: keep no view of the chunk, which would keep its memory alive.
    if (end === this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    } else this.pos = end;
    return raw;
  }

  /** Bytes received after the last complete message. */
  rest(): Buffer {
    this.join();
    const r = this.pos === 0 ? this.buf : this.buf.subarray(this.pos);
    this.buf = EMPTY;
    this.pos = 0;
    return r;
  }
}

/** Fields of an ErrorResponse/NoticeResponse body: code letter → value. */
export function errorFields(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out.set(String.fromCharCode(body[i]), body.toString('utf8', i + 1, end));
    i = end + 1;
  }
  return out;
}

export function cstrings(body: Buffer, offset = 0): string[] {
  const out: string[] = [];
  let i = offset;
  while (i < body.length) {
    const end = body.indexOf(0, i);
    if (end < 0) break;
    out.push(body.toString('utf8', i, end));
    i = end + 1;
  }
  return out;
}
