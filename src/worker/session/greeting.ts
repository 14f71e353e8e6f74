// What a client is sent once its session has a backend connection (docs/behaviour.md#greeting):
// AuthenticationOk, PostgreSQL's parameters and a pooler-issued cancel key, ReadyForQuery.
import type { ServerConnection } from '../../backend/server-connection.js';
import { authenticationOk, backendKeyData, readyForQuery } from '../../protocol/backend-write.js';
import { TxStatus } from '../../protocol/tx-status.js';

/** The greeting bytes. A connection is greeted only when idle: fresh, or reset and cached. */
export function greeting(
  conn: ServerConnection,
  reused: boolean,
  cancelKey: Buffer,
  /** Transaction mode: values the client's startup settings gave the connection, reported instead of its own. */
  statuses?: ReadonlyMap<string, string>,
): Buffer {
  const parts: Buffer[] = [];
  if (conn.negotiate) parts.push(conn.negotiate);
  parts.push(authenticationOk());
  // Fresh: ParameterStatus then BackendKeyData, as PostgreSQL sends them; reused: K before S (pgpool's order).
  const own = statuses && statuses.size > 0 ? conn.parameterStatuses(statuses) : conn.parameterStatuses();
  const key = backendKeyData(conn.pid, cancelKey);
  if (reused) parts.push(key, own);
  else parts.push(own, key);
  parts.push(readyForQuery(TxStatus.Idle));
  return Buffer.concat(parts);
}

/** The protocol minor version in effect: the backend's NegotiateProtocolVersion caps the client's. */
export function effectiveMinor(version: number, conn: ServerConnection): number {
  const asked = version & 0xffff;
  if (!conn.negotiate) return asked;
  return Math.min(asked, conn.negotiate.readInt32BE(5) & 0xffff);
}

/** Protocol 3.2 clients get 32-byte cancel keys, older ones 4 bytes. */
export const cancelKeyLength = (minor: number): number => (minor >= 2 ? 32 : 4);
