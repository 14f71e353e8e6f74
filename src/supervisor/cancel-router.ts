// Cancel requests: clients hold pooler-issued keys; the supervisor maps them to the
// backend's own (address, pid, key) and sends the cancel itself, at once, whatever the
// children are doing. Unknown keys are dropped silently, as PostgreSQL does.
import net from 'node:net';
import path from 'node:path';
import { CANCEL_REQUEST_CODE } from '../protocol/codes.js';
import type { CancelEntry, CancelTarget } from '../ipc/messages.js';

const mapKey = (pid: number, keyHex: string) => `${pid}:${keyHex}`;

/** The cancel keys of the sessions now running, one per busy child. */
export class CancelRegistry {
  private readonly targets = new Map<string, CancelTarget>();
  private readonly byChild = new Map<number, string>();

  add(childId: number, entry: CancelEntry): void {
    this.removeChild(childId);
    const k = mapKey(entry.pid, entry.key);
    this.targets.set(k, entry.target);
    this.byChild.set(childId, k);
  }

  /** The child's session ended (or the child is gone): its key no longer cancels anything. */
  removeChild(childId: number): void {
    const k = this.byChild.get(childId);
    if (k === undefined) return;
    this.byChild.delete(childId);
    this.targets.delete(k);
  }

  find(pid: number, key: string): CancelTarget | undefined {
    return this.targets.get(mapKey(pid, key));
  }

  get size(): number {
    return this.targets.size;
  }
}

export function cancelRequestPacket(pid: number, secret: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + secret.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  out.writeInt32BE(pid, 8);
  Buffer.from(secret).copy(out, 12);
  return out;
}

/** Opens a new connection to the backend and sends it the CancelRequest. */
export function sendCancel(t: CancelTarget, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = t.host.startsWith('/')
      ? net.connect(path.join(t.host, `.s.PGSQL.${t.port}`))
      : net.connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => s.destroy(new Error('cancel request timed out')), timeoutMs);
    s.once('connect', () => s.end(cancelRequestPacket(t.pid, Buffer.from(t.secret, 'hex'))));
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
