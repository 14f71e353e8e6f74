// Handing a client socket to another process without losing a byte: Node's pause() only
// stops emitting, libuv keeps reading into the stream's buffer, and after the handle is
// sent those reads are gone. Reading is stopped at the handle, and what was read already
// travels with the socket.

/** Stops reading at the handle; returns the bytes the stream had read and not yet handed out. */
export function stopReading(socket: import('node:net').Socket): Buffer {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  socket.pause();
  const parts: Buffer[] = [];
  for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null;) parts.push(b);
  return Buffer.concat(parts);
}
