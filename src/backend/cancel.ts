// Cancel requests towards PostgreSQL: the packet, sending it on a new connection, and the
// keys the pooler issues to its clients in place of the backend's own.
import crypto from 'node:crypto';
import { CANCEL_REQUEST_CODE } from '../protocol/codes.js';
import { connectSocket } from './address.js';

/** Where a cancel request for a client's key must go: the backend's own pid and key. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The backend's own cancel key. */
  readonly secret: Buffer;
}

/** Where a cancel for `conn` goes. */
export const cancelTargetOf = (conn: {
  readonly address: { readonly host: string; readonly port: number };
  readonly pid: number;
  readonly secret: Buffer;
}): CancelTarget => ({ host: conn.address.host, port: conn.address.port, pid: conn.pid, secret: conn.secret });

export function cancelRequestPacket(pid: number, secret: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + secret.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  out.writeInt32BE(pid, 8);
  Buffer.from(secret).copy(out, 12);
  return out;
}

/** Opens a new connection to the backend and sends it the CancelRequest. */
export async function sendCancel(t: CancelTarget, timeoutMs = 10_000): Promise<void> {
  const s = await connectSocket(t, timeoutMs);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => s.destroy(new Error('cancel request timed out')), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.end(cancelRequestPacket(t.pid, t.secret));
  });
}

// Cancel keys come from a pool refilled 4 KB at a time: one CSPRNG call per ~1000
// sessions instead of one per session (it showed in the connection-churn profile).
const keyPool = Buffer.alloc(4096);
let keyPoolAt = keyPool.length;

/** A fresh pooler-issued cancel key of `length` bytes (4 for protocol 3.0, 32 for 3.2). */
export function randomCancelKey(length: number): Buffer {
  if (keyPoolAt + length > keyPool.length) {
    crypto.randomFillSync(keyPool);
    keyPoolAt = 0;
  }
  const key = Buffer.from(keyPool.subarray(keyPoolAt, keyPoolAt + length));
  keyPoolAt += length;
  return key;
}
