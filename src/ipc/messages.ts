// THE union of every message between the supervisor and its workers, one type per
// direction (docs/architecture.md#processes). A session a worker accepted itself costs the
// child's two childState transitions, which travel with the rest of their event-loop turn
// as one batch (one pipe write; channel.ts); one the supervisor queued costs a client
// message (with the socket) more.
import type { ChildReport } from '../admin/process-report.js';
import type { Report } from '../admin/show-commands.js';
import type { NodeCounts } from '../admin/statement-counts.js';
import type { NodeSnapshot } from './node-snapshot.js';
import type { WireConfig } from './wire.js';

export type StopMode = 'smart' | 'fast' | 'immediate';

export type ChildExitReason = 'max_connections' | 'life_time' | 'retired' | 'shutdown';

/** A child's state as its worker reports it: the only thing that changes the supervisor's child directory. */
export type ChildStateReport =
  /** Waiting for a client; `pooled` connections in its cache. */
  | { readonly kind: 'idle'; readonly pooled: number }
  /** Serving the client of `connId`: a socket the supervisor handed over (> 0) or one the worker accepted (< 0). */
  | { readonly kind: 'busy'; readonly connId: number }
  | { readonly kind: 'exited'; readonly reason: ChildExitReason };

export type ToWorker =
  | {
      t: 'init';
      workerId: number;
      /** worker_processes as started: cancel keys name their worker modulo this. */
      workerCount: number;
      config: WireConfig;
      configFile: string;
      hbaFile: string;
      poolKeyFile: string;
    }
  /**
   * The handle of client listener `index` accompanies this message: keep it, accept on it
   * while a child is idle and `hold` is off. `copies`: how many copies to send back
   * (listenerCopy), for the supervisor to keep.
   */
  | { t: 'listen'; index: number; backlog: number; copies: number; hold: boolean }
  /** The supervisor's queue has clients (`hold`: accept nothing, freed children take them), or none left. */
  | { t: 'acceptHold'; hold: boolean }
  /** The node table changed (and once after init). */
  | { t: 'nodes'; nodes: NodeSnapshot }
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
  /** A CancelRequest for a key this worker issued: it forwards it to the backend. */
  | { t: 'cancel'; reqId: number; pid: number; key: string }
  /** The answer to an adminQuery. */
  | { t: 'adminAnswer'; reqId: number; report?: Report; error?: string }
  /** A node was detached or attached: end every session, or those using `node`; drop cached connections (docs/behaviour.md#failover). */
  | { t: 'endSessions'; node: number; scope: 'all' | 'node' }
  | { t: 'shutdown'; mode: StopMode };

export type FromWorker =
  | { t: 'ready'; workerId: number }
  /** One transition of one child. */
  | { t: 'childState'; childId: number; state: ChildStateReport }
  /**
   * A client socket this worker was handed or accepted but cannot serve (its idle child went
   * in the meantime): it comes with the message, to wait for the next free child, first in line.
   */
  | { t: 'clientBack'; connId: number; initial: string }
  /** The copy of client listener `index` the supervisor asked for accompanies this message. */
  | { t: 'listenerCopy'; index: number }
  /**
   * This worker accepts now (`open`), or paused its listeners (no idle child, or held);
   * `granted` false: it has none (closed on an error), give them again.
   */
  | { t: 'accepting'; open: boolean; granted: boolean }
  /** Transaction mode: how many clients this worker holds now (lazy: the latest within 100 ms). */
  | { t: 'txClients'; count: number }
  /** The client of `connId` was handed over and is gone without reaching a child. */
  | { t: 'clientLost'; connId: number }
  /** A session of this worker opened the first connection to a node that was still waiting. */
  | { t: 'nodeUsed'; node: number }
  /** A session could not connect to `node` (failover_on_backend_error): a detach request. */
  | { t: 'nodeFailed'; node: number }
  | { t: 'report'; reqId: number; children: ChildReport[]; counts: NodeCounts }
  | { t: 'metrics'; reqId: number; json: object[] }
  /** Whether this worker held the key of a cancel request, and forwarded it. */
  | { t: 'cancel'; reqId: number; forwarded: boolean }
  /** A client asked SHOW <name> for a report the supervisor builds. */
  | { t: 'adminQuery'; reqId: number; name: string }
  /** A CancelRequest that reached a worker for a key another worker issued. */
  | { t: 'cancelRequest'; pid: number; key: string }
  /** A CancelRequest that reached a worker for one of its own keys: forwarded, or no session holds the key. */
  | { t: 'cancelHandled'; pid: number; forwarded: boolean }
  /** Several of the above, sent in the same event-loop turn. */
  | { t: 'batch'; messages: FromWorker[] };
