// A client refused before its session starts because max_client_conn clients are connected
// (docs/transaction-pooling.md#sizing): the same error, log line and close wherever the
// refusal is decided (the worker with a single process, the supervisor across workers).
import type net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { errorResponse } from './backend-write.js';
import { poolerError } from './errors.js';

const IGNORE_ERROR = (): void => {};

/** Tells the client 53300 with pgpool's text, logs it, and closes its socket. */
export function refuseBeyondMaxClientConn(socket: net.Socket, clients: number, log: Logger): void {
  const e = poolerError('MAX_CLIENT_CONN', { clients });
  log.info({ limit: e.limit, clients }, e.message);
  socket.on('error', IGNORE_ERROR);
  socket.end(errorResponse(e));
}
