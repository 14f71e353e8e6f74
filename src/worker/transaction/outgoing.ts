// Bytes on their way to one socket in transaction mode: the messages a relay forwards are
// views of the chunks they came in, so consecutive ones are joined back into one view of
// the same memory (no copy), and what is not contiguous goes out corked, as one writev.
import type net from 'node:net';

export class Outgoing {
  /** Sealed parts before `first`; made only when a write has more than one. */
  private parts: Buffer[] | undefined;
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
    return this.first === undefined && !this.parts?.length;
  }

  /** The span `first` … `end` as one buffer. */
  private span(): Buffer | undefined {
    const f = this.first;
    if (!f) return undefined;
    this.first = undefined;
    const len = this.end - f.byteOffset;
    return len === f.length ? f : Buffer.from(f.buffer, f.byteOffset, len);
  }

  private seal(): void {
    const b = this.span();
    if (b) (this.parts ??= []).push(b);
  }

  /** Writes everything and forgets it; socket.write's answer (false: wait for drain). */
  writeTo(socket: net.Socket): boolean {
    this.bytes = 0;
    if (!this.parts?.length) {
      const b = this.span();
      return b ? socket.write(b) : true;
    }
    this.seal();
    const parts = this.parts;
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
