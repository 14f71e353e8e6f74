// Who accepts new clients, carried out (policy/accepting.ts decides; docs/behaviour.md#admission).
// The supervisor owns the listening sockets and gives each worker their handles once; a
// worker pauses and resumes its listeners itself (ipc/accept-switch.ts) and says so. The
// supervisor holds the workers while its queue has clients, and accepts only while no worker
// does, on a spare it can pause too: a copy a worker sent back, since only a handle that came
// over IPC can be paused (the servers bound at start close once every spare is here).
import type net from 'node:net';
import { listenOnReceived, pauseAccepting, resumeAccepting } from '../ipc/accept-switch.js';
import { planAccepting } from '../policy/accepting.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * How long no worker may accept before the supervisor does. A child usually frees within
 * milliseconds; until then a new client waits in the kernel's listen queue, as pgpool's do,
 * rather than cost a pass through the supervisor.
 */
export const SUPERVISOR_ACCEPT_DELAY_MS = 50;

export interface AcceptControlDeps {
  readonly workers: Pick<WorkerPool, 'count' | 'send'>;
  /** The child directory's free children per worker, the queue's length, and whether workers may accept. */
  view(): { free: number[]; waiting: number; workersAccept: boolean };
  /** The queue's length alone. */
  waiting(): number;
  /** A client the supervisor accepted (paused, unread). */
  accepted(socket: net.Socket): void;
}

export class AcceptControl {
  private readonly listening: boolean[];
  private readonly granted: boolean[];
  /** The supervisor's own listener per bound one, on a copy that came back: paused unless it accepts. */
  private readonly spares: (net.Server | undefined)[];
  /** The servers bound at start, open (and accepting) until every spare is here. */
  private own: net.Server[] | undefined;
  /** Whether the supervisor accepts (on `own` while it is open, else on the spares). */
  private here = true;
  private held = false;
  private acceptTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Grants on their way that carry the handle of a server bound at start: Node sends handle
   * messages one at a time, so one may still be queued when the spares are here, and closing
   * that server first would send the worker a closed handle — and the worker would never
   * accept while this side believed it did (clients left in the listen queue).
   */
  private boundHandlesInFlight = 0;

  constructor(
    /** The client listeners bound at start, accepting, and the listen() backlog of each. */
    private readonly bound: readonly { readonly server: net.Server; readonly backlog: number }[],
    private readonly d: AcceptControlDeps,
  ) {
    this.listening = Array<boolean>(d.workers.count).fill(false);
    this.granted = Array<boolean>(d.workers.count).fill(false);
    this.spares = bound.map(() => undefined);
    this.own = bound.map((b) => b.server);
  }

  /** Re-plans after anything that changes free children, the queue, or who listens. */
  update(): void {
    if (this.closed) return;
    // Every worker accepting and nobody waiting is the common case, and nothing to change.
    if (!this.own && !this.here && !this.held && this.d.waiting() === 0 && this.listening.every(Boolean)) return;
    const v = this.d.view();
    const plan = planAccepting({ ...v, listening: this.listening, granted: this.granted });
    if (plan.hold !== this.held) {
      this.held = plan.hold;
      for (let w = 0; w < this.granted.length; w++)
        if (this.granted[w]) this.d.workers.send(w, { t: 'acceptHold', hold: plan.hold });
    }
    for (const w of plan.grant) this.grant(w);
    if (plan.supervisorAccepts) this.acceptSoon();
    else this.stopAcceptingHere();
  }

  /** A copy of listener `index` a worker sent back: the supervisor's spare, if it has none. */
  copyArrived(index: number, handle: unknown): void {
    if (this.closed || index >= this.spares.length || this.spares[index]) {
      (handle as { close?: () => void } | undefined)?.close?.();
      return;
    }
    const server = listenOnReceived(handle, this.bound[index].backlog, this.d.accepted, () => {});
    // While `own` is open it does the accepting here.
    if (!pauseAccepting(server)) {
      server.close();
      return;
    }
    this.spares[index] = server;
    this.closeOwnWhenSpared();
    this.update();
  }

  /** Worker `w` accepts now or paused (`open`); it lost the listeners (`granted` false), or exited (both false). */
  workerAccepting(w: number, open: boolean, granted: boolean): void {
    this.listening[w] = open;
    if (!granted) this.granted[w] = false;
    this.update();
  }

  /** Stops accepting everywhere here; the workers stop on their shutdown message. */
  close(): void {
    this.closed = true;
    clearTimeout(this.acceptTimer);
    for (const s of this.own ?? []) s.close();
    this.own = undefined;
    for (const s of this.spares.splice(0)) s?.close();
  }

  private grant(w: number): void {
    let sent = false;
    this.bound.forEach(({ backlog }, index) => {
      // Before the spare is here, the handle of the server bound at start goes, and a copy comes back.
      const spare = this.spares[index];
      const handle = ((spare ?? this.own?.[index]) as unknown as { _handle?: unknown } | undefined)?._handle;
      if (!handle) return;
      if (!spare) this.boundHandlesInFlight++;
      const delivered = () => {
        if (!spare) this.boundHandlesInFlight--;
        this.closeOwnWhenSpared();
        this.update();
      };
      const failed = () => {
        // The worker will not accept on it: say so, and plan again.
        this.listening[w] = this.granted[w] = false;
        delivered();
      };
      const m = { t: 'listen', index, backlog, copies: spare ? 0 : 1, hold: this.held } as const;
      if (this.d.workers.send(w, m, handle as unknown as net.Socket, failed, delivered)) sent = true;
      else if (!spare) this.boundHandlesInFlight--;
    });
    // Believed accepting until it says otherwise: the supervisor does not accept meanwhile.
    if (sent) this.listening[w] = this.granted[w] = true;
  }

  /** Accepts here if, SUPERVISOR_ACCEPT_DELAY_MS from now, still no worker does. */
  private acceptSoon(): void {
    if (this.here || this.acceptTimer) return;
    this.acceptTimer = setTimeout(() => {
      this.acceptTimer = undefined;
      if (this.closed) return;
      const plan = planAccepting({ ...this.d.view(), listening: this.listening, granted: this.granted });
      if (plan.supervisorAccepts) this.acceptHere();
    }, SUPERVISOR_ACCEPT_DELAY_MS);
  }

  private acceptHere(): void {
    this.here = true;
    if (this.own) return;
    // A spare paused once switches again (copyArrived checked it).
    for (const s of this.spares) if (s) resumeAccepting(s);
  }

  private stopAcceptingHere(): void {
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    if (!this.here) return;
    // The servers bound at start accept until every spare is here (closeOwnWhenSpared).
    if (this.own) return this.closeOwnWhenSpared();
    this.here = false;
    for (const s of this.spares) if (s) pauseAccepting(s);
  }

  /** The servers bound at start close once every listener has a spare and no grant carries their handle. */
  private closeOwnWhenSpared(): void {
    if (!this.own || this.spares.some((s) => !s) || this.boundHandlesInFlight > 0) return;
    for (const s of this.own) s.close();
    this.own = undefined;
    // What `own` did, the spares do now.
    if (this.here) for (const s of this.spares) resumeAccepting(s!);
    this.update();
  }
}
