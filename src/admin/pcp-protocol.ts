// The PCP wire protocol (docs/behaviour.md#pcp), pure: the request framer, the md5
// login check, and the replies the pcp_* tools parse positionally. No I/O here.
import crypto from 'node:crypto';
import { md5hex } from '../auth/md5.js';

/** A client packet's length word must be 0 < len < 260 (pgpool's MAX_PCP_PACKET_LENGTH). */
export const MAX_PCP_PACKET_LENGTH = 260;

export interface PcpRequest {
  readonly type: string;
  readonly payload: Buffer;
}

export type PcpFrame =
  { kind: 'request'; request: PcpRequest; length: number } | { kind: 'incomplete' } | { kind: 'bad'; length: number };

/** The first whole request in `buf`: 1 type byte, int32 length (counting itself), payload. */
export function readPcpRequest(buf: Buffer): PcpFrame {
  if (buf.length < 5) return { kind: 'incomplete' };
  const len = buf.readInt32BE(1);
  if (len < 4 || len >= MAX_PCP_PACKET_LENGTH) return { kind: 'bad', length: len };
  if (buf.length < 1 + len) return { kind: 'incomplete' };
  return {
    kind: 'request',
    request: { type: String.fromCharCode(buf[0]), payload: buf.subarray(5, 1 + len) },
    length: 1 + len,
  };
}

/** A reply packet: type byte, length word, the parts (strings are NUL-terminated). */
export function pcpPacket(type: string, ...parts: (string | Buffer)[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(`${p}\0`) : p)));
  const out = Buffer.allocUnsafe(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** ErrorResponse in PostgreSQL's layout, as pgpool's PCP worker sends it. */
export function pcpError(severity: 'ERROR' | 'FATAL', message: string, detail?: string): Buffer {
  const f = (k: string, v: string) => `${k}${v}\0`;
  const body = f('S', severity) + f('C', 'XX000') + f('M', message) + (detail ? f('D', detail) : '') + '\0';
  return pcpPacket('E', Buffer.from(body));
}

/** pcp.conf holds md5hex(password); the client answers md5hex(md5hex(stored ‖ user) ‖ salt). */
export function pcpAuthOk(storedMd5: string, user: string, salt: Buffer, answer: string): boolean {
  const expected = Buffer.from(md5hex(Buffer.concat([Buffer.from(md5hex(storedMd5 + user)), salt])));
  const got = Buffer.from(answer);
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/** NUL-separated strings of a payload (the last terminator dropped). */
export function pcpStrings(payload: Buffer): string[] {
  const s = payload.toString('utf8');
  return (s.endsWith('\0') ? s.slice(0, -1) : s).split('\0');
}

export type PcpClientVersion = 'newest' | '4.3';

export interface NodeInfo {
  readonly hostname: string;
  readonly port: number;
  /** 0 unused, 1 waiting, 2 up, 3 down. */
  readonly status: number;
  readonly pgStatus: string;
  /** Normalised weight (0..1). */
  readonly weight: number;
  /** 0 main, 1 replica, 2 primary, 3 standby. */
  readonly role: number;
  readonly pgRole: string;
  /** Bytes, or µs when delayByTime. */
  readonly replicationDelay: number;
  readonly delayByTime: boolean;
  readonly replicationState: string;
  readonly replicationSyncState: string;
  readonly statusChangedEpoch: number;
}

const RAND_MAX = 2147483647;

/** NodeInfo fields: 12 for 4.3 tools, 13 (standby_delay_by_time inserted) for 4.4 and later. */
export function nodeInfoPacket(n: NodeInfo, v: PcpClientVersion): Buffer {
  const head = [
    n.hostname,
    String(n.port),
    String(n.status),
    '0',
    n.pgStatus,
    (n.weight * RAND_MAX).toFixed(6),
    String(n.role),
    n.pgRole,
  ];
  const tail = [String(n.replicationDelay), n.replicationState, n.replicationSyncState, String(n.statusChangedEpoch)];
  return pcpPacket('i', 'NodeInfo', ...head, ...(v === '4.3' ? [] : [n.delayByTime ? '1' : '0']), ...tail);
}

/** ProcessInfo: the SHOW pool_pools columns, 17 for 4.3/4.4 tools, 21 for newest. */
export function processInfoPacket(row: readonly string[], v: PcpClientVersion): Buffer {
  return pcpPacket('p', 'ProcessInfo', ...(v === '4.3' ? row.slice(0, 17) : row));
}

/** pcp_pool_status's ArraySize carries the count as a binary int32. */
export function poolStatusHeader(count: number): Buffer {
  const n = Buffer.alloc(4);
  n.writeInt32BE(count, 0);
  return pcpPacket('b', 'ArraySize', n);
}
