// A client socket the supervisor handed this worker: an idle child takes it before a byte
// is read, as a pgpool child accepts only when idle; its session reads the startup packet
// and may move to a child whose cache fits (docs/behaviour.md#admission). A socket no
// child can take (one exited in the meantime) goes back to the supervisor unread.
import type net from 'node:net';
import { durationMs } from '../config/accessors.js';
import type { FromWorker } from '../ipc/messages.js';
import { errorResponse } from '../protocol/backend-write.js';
import { poolerError } from '../protocol/errors.js';
import { stopReading } from '../protocol/socket-handoff.js';
import { hostNameOf } from './auth-context.js';
import type { Child } from './child.js';
import type { Children } from './children.js';
import { peerOf, type SessionEnv } from './session/session-env.js';
import { Session, type SessionHost, type EndedSession } from './session/session.js';

/** Idle time before the first keepalive probe on a client connection. */
const CLIENT_KEEPALIVE_MS = 60_000;
/** How long log_hostname waits for a reverse lookup. */
const HOSTNAME_LOOKUP_MS = 1000;

export interface AcceptDeps {
  readonly children: Children;
  readonly env: SessionEnv;
  /** Sends at once; a socket goes with it when given (queued messages go first). */
  send(m: FromWorker, socket?: net.Socket): void;
  /** A CancelRequest that arrived here. */
  cancel(pid: number, keyHex: string): void;
  /** A session ended: the worker counts it. */
  ended(result: EndedSession, session: Session, child: number): void;
}

/** A client's socket errors end its session through 'close'; one listener for all of them. */
const IGNORE_ERROR = (): void => {};

/**
 * Every accepted client socket, in either pooling mode: kept alive and its errors handled;
 * refused (false) while the worker stops.
 */
export function takeClientSocket(
  connId: number,
  socket: net.Socket,
  children: Children,
  send: (m: FromWorker) => void,
): boolean {
  // As pgpool (SO_KEEPALIVE): a client that vanished without a FIN (half-open TCP) is
  // found by the kernel's keepalive probes instead of holding its child forever.
  socket.setKeepAlive?.(true, CLIENT_KEEPALIVE_MS);
  socket.on('error', IGNORE_ERROR);
  if (!children.stopMode) return true;
  socket.end(errorResponse(poolerError('SHUTDOWN')));
  send({ t: 'clientLost', connId });
  return false;
}

export function acceptClient(connId: number, socket: net.Socket, initial: Buffer, deps: AcceptDeps): void {
  const { children, env } = deps;
  if (!takeClientSocket(connId, socket, children, deps.send)) return;
  const cfg = env.config;
  const timeoutMs = durationMs(cfg, 'authentication_timeout');
  const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
  let current: Child | undefined;
  const host: SessionHost = {
    placed: (session, startup, key) => {
      current = children.settle(current!, session, startup.user, startup.database, key);
      if (env.config.log_connections) void logConnection(env, current.id, startup.user, startup.database, socket);
      return children.stopMode ? undefined : current.pool;
    },
    cancel: deps.cancel,
  };
  let session: Session | undefined;
  current = children.take(connId, () => (session = new Session(socket, initial, host, env, deadline)));
  if (!current || !session) {
    // The supervisor counted a child that is gone now: the client waits for the next one,
    // with every byte this worker's socket already read (protocol/socket-handoff.ts).
    const read = stopReading(socket);
    deps.send({ t: 'clientBack', connId, initial: Buffer.concat([initial, read]).toString('base64') }, socket);
    return;
  }
  const s = session;
  void s.run().then((result) => {
    if (result.end === 'relaying') return; // transaction mode only
    if (result.end !== 'no-session') deps.ended(result, s, current!.id);
    children.finished(current!, result.end !== 'no-session');
  });
}

/** log_connections, with the client's host name when log_hostname is on (a reverse lookup, a second at most). */
export async function logConnection(
  env: SessionEnv,
  /** The child it is on (none in transaction mode, before its first transaction). */
  child: number | undefined,
  user: string,
  database: string,
  socket: net.Socket,
): Promise<void> {
  const address = socket.remoteAddress;
  let host: string | undefined;
  if (env.config.log_hostname && address) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    host = await Promise.race([
      hostNameOf(address),
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), HOSTNAME_LOOKUP_MS))),
    ]);
    clearTimeout(timer);
  }
  env.log.info({ child, user, database, peer: peerOf(socket), host }, 'new connection received');
}
