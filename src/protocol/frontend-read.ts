// Reading what a client sends before the session starts: the length-prefixed packets
// without a type byte (startup, SSLRequest, GSSENCRequest, CancelRequest). Pure.
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_CANCEL_KEY_LENGTH,
  MAX_STARTUP_PACKET_LENGTH,
  SSL_REQUEST_CODE,
} from './codes.js';
import { poolerError, type PoolerError } from './errors.js';

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; key: Buffer }
  | {
      kind: 'startup';
      /** Protocol version word, e.g. 0x00030000 or 0x00030002. */
      version: number;
      /** Parameters in the order the client sent them. */
      params: ReadonlyArray<readonly [string, string]>;
      user: string;
      database: string;
    };

export type PacketRead =
  | { state: 'incomplete' }
  | { state: 'error'; error: PoolerError }
  | { state: 'done'; packet: StartupPacket; length: number };

/**
 * Reads one startup-phase packet from the front of `buf`. Never buffers more than the
 * packet's declared length, which is bounded before anything else is looked at.
 */
export function readStartupPacket(buf: Buffer): PacketRead {
  if (buf.length < 4) return { state: 'incomplete' };
  const length = buf.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET_LENGTH)
    return { state: 'error', error: poolerError('STARTUP_LENGTH', { length: length - 4 }) };
  if (buf.length < 8) return { state: 'incomplete' };
  const code = buf.readInt32BE(4);
  if (code === CANCEL_REQUEST_CODE) {
    if (length < 12 || length > 12 + MAX_CANCEL_KEY_LENGTH)
      return { state: 'error', error: poolerError('STARTUP_LENGTH', { length: length - 4 }) };
    if (buf.length < length) return { state: 'incomplete' };
    return {
      state: 'done',
      length,
      packet: { kind: 'cancel', pid: buf.readInt32BE(8), key: Buffer.from(buf.subarray(12, length)) },
    };
  }
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
    if (length !== 8) return { state: 'error', error: poolerError('STARTUP_LENGTH', { length: length - 4 }) };
    return { state: 'done', length, packet: { kind: code === SSL_REQUEST_CODE ? 'ssl' : 'gssenc' } };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) return { state: 'error', error: poolerError('PROTOCOL_VERSION', { major, minor }) };
  if (buf.length < length) return { state: 'incomplete' };
  const parsed = parseParams(buf.subarray(8, length));
  if (typeof parsed === 'string') return { state: 'error', error: poolerError('STARTUP_LAYOUT', { detail: parsed }) };
  const user = parsed.find(([k]) => k === 'user')?.[1] ?? '';
  if (user === '') return { state: 'error', error: poolerError('NO_USER') };
  const db = parsed.find(([k]) => k === 'database')?.[1] ?? '';
  return {
    state: 'done',
    length,
    // slice(): an array of its own size (push left room for more), kept for the whole session.
    packet: { kind: 'startup', version: code, params: parsed.slice(), user, database: db === '' ? user : db },
  };
}

/** name\0value\0 … \0 */
function parseParams(body: Buffer): Array<[string, string]> | string {
  const out: Array<[string, string]> = [];
  let i = 0;
  for (;;) {
    if (i >= body.length) return 'missing terminator after the last parameter';
    if (body[i] === 0) {
      if (i !== body.length - 1) return 'unexpected data after the terminating zero byte';
      return out;
    }
    const nameEnd = body.indexOf(0, i);
    if (nameEnd < 0) return 'parameter name without terminator';
    const valueEnd = body.indexOf(0, nameEnd + 1);
    if (valueEnd < 0) return `parameter "${body.toString('utf8', i, nameEnd)}" has no value`;
    out.push([body.toString('utf8', i, nameEnd), body.toString('utf8', nameEnd + 1, valueEnd)]);
    i = valueEnd + 1;
  }
}

/**
 * The startup packet sent to the backend and used as the cache key: parameters sorted
 * by name (byte order, as pgpool's strcmp), the client's protocol version, nothing added.
 */
export function sortedStartupPacket(version: number, params: ReadonlyArray<readonly [string, string]>): Buffer {
  // Names are encoded once and compared as bytes; the packet is written into one buffer.
  const entries = params.map(([name, value]) => ({ name: Buffer.from(name), value }));
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  let length = 9; // length, version, the final zero
  for (const e of entries) length += e.name.length + Buffer.byteLength(e.value) + 2;
  const out = Buffer.allocUnsafe(length);
  out.writeInt32BE(length, 0);
  out.writeInt32BE(version, 4);
  let at = 8;
  for (const e of entries) {
    at += e.name.copy(out, at);
    out[at++] = 0;
    at += out.write(e.value, at);
    out[at++] = 0;
  }
  out[at] = 0;
  return out;
}
