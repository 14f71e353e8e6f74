// Every message between the supervisor and its workers: one typed union per direction.
// Sent with child_process 'advanced' serialization (structured clone: Maps and Buffers pass).
import type { PgpoolConfig } from './config/schema.js';

export type ChildStatus = 'wait_for_connection' | 'connecting' | 'idle' | 'idle_in_transaction' | 'execute';

/** Where a cancel request for a client's key must go. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly secret: Uint8Array;
}

export type ToWorker =
  | { t: 'init'; workerId: number; config: PgpoolConfig; configFile: string }
  | { t: 'spawn'; childId: number }
  /** Ask an idle child to exit (dynamic mode, shutdown). */
  | { t: 'retire'; childId: number }
  /** A client socket accompanies this message; `initial` holds bytes the supervisor already read. */
  | { t: 'client'; connId: number; initial: Uint8Array }
  | { t: 'reload'; config: PgpoolConfig }
  | { t: 'shutdown'; mode: 'smart' | 'fast' | 'immediate' };

export type ChildExitReason = 'max_connections' | 'life_time' | 'retired' | 'error' | 'shutdown';

export type FromWorker =
  | { t: 'ready'; workerId: number }
  | { t: 'childStarted'; childId: number }
  /** The child took the client of connection `connId` (or found it gone). */
  | { t: 'childBusy'; childId: number; connId: number }
  | { t: 'childStatus'; childId: number; status: ChildStatus }
  /** The child finished its client and can take another. */
  | { t: 'childFree'; childId: number; pooled: number }
  | { t: 'childExit'; childId: number; reason: ChildExitReason; message: string }
  /** A client socket the worker could not place (no idle child any more); the socket is closed. */
  | { t: 'clientLost'; connId: number }
  | { t: 'cancelKey'; op: 'add' | 'remove'; pid: number; key: Uint8Array; target?: CancelTarget }
  /** A CancelRequest that reached a worker; the supervisor holds every key and forwards it. */
  | { t: 'cancelRequest'; pid: number; key: Uint8Array };
