// Every message between the supervisor and its workers: one typed union per direction.
// Sent as JSON (child_process's default serialization), so Buffers travel as base64
// strings and the config snapshot's Maps as entry lists (encodeConfig/decodeConfig).
import type { PgpoolConfig } from './config/schema.js';

/** The config snapshot in a JSON-safe form: every Map becomes its entry list. */
export type WireConfig = { readonly json: string };

export function encodeConfig(cfg: PgpoolConfig): WireConfig {
  return { json: JSON.stringify(cfg, (_k, v) => (v instanceof Map ? { $map: [...v] } : v)) };
}

export function decodeConfig(w: WireConfig): PgpoolConfig {
  return JSON.parse(w.json, (_k, v) => (v && typeof v === 'object' && '$map' in v ? new Map(v.$map) : v)) as PgpoolConfig;
}

export type ChildStatus = 'wait_for_connection' | 'connecting' | 'idle' | 'idle_in_transaction' | 'execute';

/** Where a cancel request for a client's key must go. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The backend's own cancel key, hex. */
  readonly secret: string;
}

export type ToWorker =
  | { t: 'init'; workerId: number; config: WireConfig; configFile: string }
  | { t: 'spawn'; childId: number }
  /** Ask an idle child to exit (dynamic mode, shutdown). */
  | { t: 'retire'; childId: number }
  /** A client socket accompanies this message; `initial` holds bytes the supervisor already read (base64). */
  | { t: 'client'; connId: number; initial: string }
  | { t: 'reload'; config: WireConfig }
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
  /** Keys are hex strings. */
  | { t: 'cancelKey'; op: 'add' | 'remove'; pid: number; key: string; target?: CancelTarget }
  /** A CancelRequest that reached a worker; the supervisor holds every key and forwards it. */
  | { t: 'cancelRequest'; pid: number; key: string };
