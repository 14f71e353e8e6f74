// Handing a client socket to another process without losing a byte: Node's pause() only
// stops emitting, libuv keeps reading into the stream's buffer, and after the handle is
// sent those reads are gone. Reading is stopped at the handle, and what was read already
// travels with the socket.

/**
 * Stops reading at the handle; returns the bytes the stream had read and not yet handed out.
 * The handle is then marked as reading, so that nothing the stream does later — a read()
 * here, or the read-ahead it schedules when this runs inside a 'data' handler — starts it
 * again (net.Socket's _read calls readStart only on a handle that is not reading): the
 * bytes that follow stay in the kernel and travel with the descriptor.
 */
export function stopReading(socket: import('node:net').Socket): Buffer {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  handle?.readStop?.();
  if (handle) handle.reading = true;
  socket.pause();
  const parts: Buffer[] = [];
  for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null;) parts.push(b);
  return Buffer.concat(parts);
}
