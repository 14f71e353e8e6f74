// Two connected sockets over a unix socket in a temporary directory: fast, real kernel
// sockets for the unit tests of the relay, the reset and the backend connection.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function socketPair(): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgts-pair-'));
  const file = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(file, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(file);
  await new Promise<void>((r) => a.once('connect', () => r()));
  const b = await accepted;
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
    },
  };
}

/** Resolves with what `s` receives until `n` bytes have come (or it closes). */
export function receive(s: net.Socket, n: number, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = () => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', done);
      resolve(Buffer.concat(parts));
    };
    const onData = (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= n) done();
    };
    const timer = setTimeout(() => {
      s.off('data', onData);
      reject(new Error(`received ${got} of ${n} bytes`));
    }, timeoutMs);
    s.on('data', onData);
    s.once('close', done);
  });
}

/** A protocol message: type byte, int32 length, body. */
export function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
export const readyForQuery = (status: 'I' | 'T' | 'E'): Buffer => msg('Z', Buffer.from(status));
export const query = (sql: string): Buffer => msg('Q', cstr(sql));
