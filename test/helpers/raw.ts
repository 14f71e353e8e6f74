// A raw protocol client for tests that need exact bytes: startup variants, garbage,
// cancel requests.
import net from 'node:net';

export function startupPacket(params: Record<string, string>, version = 0x00030000): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]),
    Buffer.from([0]),
  ]);
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(version, 4);
  body.copy(b, 8);
  return b;
}

export function requestPacket(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + extra.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(code, 4);
  extra.copy(b, 8);
  return b;
}

export interface RawConn {
  readonly socket: net.Socket;
  send(b: Buffer): void;
  /** Waits until `n` bytes have arrived in total (or the socket closes) and returns them. */
  read(n: number, timeoutMs?: number): Promise<Buffer>;
  /** Waits for the socket to close; returns everything received. */
  closed(timeoutMs?: number): Promise<Buffer>;
  /** Waits until a whole ReadyForQuery message has arrived; returns everything received. */
  ready(timeoutMs?: number): Promise<Buffer>;
  received(): Buffer;
}

const open = new Set<net.Socket>();

/** Closes every raw connection a test left open (afterEach). */
export function closeRawConnections(): void {
  for (const s of open) s.destroy();
  open.clear();
}

/** Offset just past the first complete ReadyForQuery, skipping a leading single-byte 'N'/'S' answer. */
function hasReady(buf: Buffer): boolean {
  let i = buf.length > 0 && (buf[0] === 0x4e || buf[0] === 0x53) && (buf.length === 1 || buf[1] !== 0) ? 1 : 0;
  while (i + 5 <= buf.length) {
    const len = buf.readInt32BE(i + 1);
    if (i + 1 + len > buf.length) return false;
    if (buf[i] === 0x5a) return true;
    i += 1 + len;
  }
  return false;
}

export function rawConnect(port: number, host = '127.0.0.1'): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    let buf = Buffer.alloc(0);
    let ended = false;
    const waiters = new Set<() => void>();
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (const w of waiters) w();
    });
    socket.on('close', () => {
      ended = true;
      for (const w of waiters) w();
    });
    socket.on('error', () => {});
    const wait = (cond: () => boolean, timeoutMs: number) =>
      new Promise<Buffer>((res, rej) => {
        const check = () => {
          if (cond()) {
            waiters.delete(check);
            clearTimeout(t);
            res(buf);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out; got ${buf.length} bytes: ${buf.toString('hex').slice(0, 200)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    socket.once('connect', () =>
      resolve({
        socket,
        send: (b) => socket.write(b),
        read: (n, t = 10_000) => wait(() => buf.length >= n || ended, t),
        closed: (t = 10_000) => wait(() => ended, t),
        ready: (t = 10_000) => wait(() => hasReady(buf) || ended, t),
        received: () => buf,
      }),
    );
    socket.once('error', reject);
  });
}

/** Fields of the first ErrorResponse in `buf`. */
export function firstError(buf: Buffer): Record<string, string> | undefined {
  let i = 0;
  while (i + 5 <= buf.length) {
    const type = buf[i];
    const len = buf.readInt32BE(i + 1);
    if (type === 0x45) {
      const out: Record<string, string> = {};
      let j = i + 5;
      while (j < i + 1 + len && buf[j] !== 0) {
        const end = buf.indexOf(0, j + 1);
        out[String.fromCharCode(buf[j])] = buf.toString('utf8', j + 1, end);
        j = end + 1;
      }
      return out;
    }
    i += 1 + len;
  }
  return undefined;
}

/** Message types in order, e.g. "RSSSKZ". */
export function messageTypes(buf: Buffer): string {
  let s = '';
  let i = 0;
  while (i + 5 <= buf.length) {
    s += String.fromCharCode(buf[i]);
    i += 1 + buf.readInt32BE(i + 1);
  }
  return s;
}

/** The whole messages in `buf` from byte `from`, as [type, body]; a partial last one is left out. */
export function messagesFrom(buf: Buffer, from = 0): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let i = from;
  while (i + 5 <= buf.length && i + 1 + buf.readInt32BE(i + 1) <= buf.length) {
    const len = buf.readInt32BE(i + 1);
    out.push([String.fromCharCode(buf[i]), buf.subarray(i + 5, i + 1 + len)]);
    i += 1 + len;
  }
  return out;
}
