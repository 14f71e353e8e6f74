// Stops and starts accept() on a listening handle without closing it (docs/architecture.md#processes).
// Node has no such call, but libuv's listening stream accepts from the same poll watcher
// that uv_read_stop() stops and uv_read_start() starts: pausing is read-start then
// read-stop (the stop is a no-op on a stream not marked reading), resuming is read-start.
// libuv lets only a stream opened readable read, which a handle received over IPC is
// (uv_accept on the channel opens it so) and one bound in this process is not: only
// handles that came from another process can be switched. A pause that fails says false.
import net from 'node:net';
import { constants } from 'node:os';

interface StreamHandle {
  readStart(): number;
  readStop(): number;
}

/** libuv's code for a start on a stream already reading: it accepts already. */
const UV_EALREADY = -constants.errno.EALREADY;

function handleOf(server: net.Server): StreamHandle | undefined {
  const h = (server as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return typeof h?.readStart === 'function' && typeof h.readStop === 'function' ? (h as StreamHandle) : undefined;
}

/** Stops accepting on a listening server; its clients wait in the kernel's listen queue. False if it cannot. */
export function pauseAccepting(server: net.Server): boolean {
  const h = handleOf(server);
  if (!h) return false;
  const started = h.readStart();
  if (started !== 0 && started !== UV_EALREADY) return false;
  return h.readStop() === 0;
}

/** Accepts again on a server pauseAccepting stopped (or one that accepts: nothing changes). */
export function resumeAccepting(server: net.Server): boolean {
  const h = handleOf(server);
  if (!h) return false;
  const started = h.readStart();
  return started === 0 || started === UV_EALREADY;
}

/**
 * A server accepting on listening handle `handle` received over IPC, its clients paused (the
 * session starts reading) with TCP_NODELAY: what a worker and the supervisor's spares listen with.
 */
export function listenOnReceived(
  handle: unknown,
  backlog: number,
  accepted: (socket: net.Socket) => void,
  failed: () => void,
): net.Server {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, accepted);
  server.on('error', failed);
  server.listen(handle as net.Server, backlog);
  return server;
}
