// Every message between the supervisor and its workers: one typed union per direction.
// A session costs three: client (with the socket), childBusy, childFree. A worker's
// messages of one event-loop turn travel together as a batch (one pipe write).
// Sent as JSON (child_process's default serialization), so Buffers travel as base64
// strings and the config snapshot's Maps as entry lists (encodeConfig/decodeConfig).
import type { ChildReport } from '../admin/process-report.js';
import type { Report } from '../admin/show-commands.js';
import type { PgpoolConfig } from '../config/schema.js';

/** The config snapshot in a JSON-safe form: every Map becomes its entry list. */
export type WireConfig = { readonly json: string };

export function encodeConfig(cfg: PgpoolConfig): WireConfig {
  return { json: JSON.stringify(cfg, (_k, v) => (v instanceof Map ? { $map: [...v] } : v)) };
}

export function decodeConfig(w: WireConfig): PgpoolConfig {
  return JSON.parse(w.json, (_k, v) =>
    v && typeof v === 'object' && '$map' in v ? new Map(v.$map) : v,
  ) as PgpoolConfig;
}

/** Where a cancel request for a client's key must go. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The backend's own cancel key, hex. */
  readonly secret: string;
}

/** The key a client was given (pid and hex key) and the backend it stands for. */
export interface CancelEntry {
  readonly pid: number;
  readonly key: string;
  readonly target: CancelTarget;
}

export type ToWorker =
  | { t: 'init'; workerId: number; config: WireConfig; configFile: string; hbaFile: string; poolKeyFile: string }
  | { t: 'spawn'; childId: number }
  /** Ask an idle child to exit (dynamic mode, shutdown). */
  | { t: 'retire'; childId: number }
  /** A client socket accompanies this message; `initial` holds bytes the supervisor already read (base64). */
  | { t: 'client'; connId: number; initial: string }
  | { t: 'reload'; config: WireConfig }
  /** Asks for a ChildReport of every child (SHOW pool_*, PCP). */
  | { t: 'report'; reqId: number }
  /** Asks for the worker's metrics (prom-client getMetricsAsJSON). */
  | { t: 'metrics'; reqId: number }
  /** The answer to an adminQuery. */
  | { t: 'adminAnswer'; reqId: number; report?: Report; error?: string }
  | { t: 'shutdown'; mode: 'smart' | 'fast' | 'immediate' };

export type ChildExitReason = 'max_connections' | 'life_time' | 'retired' | 'error' | 'shutdown';

export type FromWorker =
  | { t: 'ready'; workerId: number }
  | { t: 'childStarted'; childId: number }
  /**
   * The child's session with the client of `connId` has its backend connection and is
   * about to greet the client; `cancel` says where that client's CancelRequest must go.
   * A session refused before this point sends only childFree/childExit.
   */
  | { t: 'childBusy'; childId: number; connId: number; cancel: CancelEntry }
  /** The child finished the client of `connId` and can take another; its cancel key is void. */
  | { t: 'childFree'; childId: number; connId: number; pooled: number }
  /** The child is gone; `connId` is the client it just finished, if any. */
  | { t: 'childExit'; childId: number; connId?: number; reason: ChildExitReason; message: string }
  /** A client socket the worker could not place (no idle child any more); the socket is closed. */
  | { t: 'clientLost'; connId: number }
  | { t: 'report'; reqId: number; children: ChildReport[] }
  | { t: 'metrics'; reqId: number; json: object[] }
  /** A client asked SHOW <name> for a report the supervisor builds. */
  | { t: 'adminQuery'; reqId: number; name: string }
  /** A CancelRequest that reached a worker; the supervisor holds every key and forwards it. */
  | { t: 'cancelRequest'; pid: number; key: string }
  /** Several of the above, sent in the same event-loop turn. */
  | { t: 'batch'; messages: FromWorker[] };
