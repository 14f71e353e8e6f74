// Bytes on their way to one socket in transaction mode: the messages a relay forwards are
// views of the chunks they came in, so consecutive ones are joined back into one view of
// the same memory (no copy), and what is not contiguous goes out corked, as one writev.
import type net from 'node:net';

export class Outgoing {
  private readonly parts: Buffer[] = [];
  /** The last part, as a span of memory that contiguous pushes extend. */
  private first: Buffer | undefined;
  private end = 0;
  /** Bytes pushed since the last write. */
  bytes = 0;

  push(b: Buffer): void {
    this.bytes += b.length;
    if (this.first && b.buffer === this.first.buffer && b.byteOffset === this.end) {
      this.end += b.length;
      return;
    }
    this.seal();
    this.first = b;
    this.end = b.byteOffset + b.length;
  }

  get empty(): boolean {
    return this.first === undefined && this.parts.length === 0;
  }

  private seal(): void {
    const f = this.first;
    if (!f) return;
    const len = this.end - f.byteOffset;
    this.parts.push(len === f.length ? f : Buffer.from(f.buffer, f.byteOffset, len));
    this.first = undefined;
  }

  /** Writes everything and forgets it; socket.write's answer (false: wait for drain). */
  writeTo(socket: net.Socket): boolean {
    this.seal();
    const parts = this.parts;
    this.bytes = 0;
    if (parts.length === 1) {
      const ok = socket.write(parts[0]);
      parts.length = 0;
      return ok;
    }
    socket.cork();
    let ok = true;
    for (const p of parts) ok = socket.write(p);
    socket.uncork();
    parts.length = 0;
    return ok;
  }
}

/**
 * Writes what waits for the backend (when one is held) and for the client; a socket that
 * cannot take more pauses the other until it drains, so memory stays bounded both ways.
 */
export function flushBoth(
  toServer: Outgoing,
  server: net.Socket | undefined,
  toClient: Outgoing,
  client: net.Socket,
): void {
  if (!toServer.empty && server && !toServer.writeTo(server)) {
    client.pause();
    server.once('drain', () => client.resume());
  }
  if (!toClient.empty && !toClient.writeTo(client) && server) {
    server.pause();
    client.once('drain', () => server.resume());
  }
}
