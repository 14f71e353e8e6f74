// Who accepts new clients, carried out (policy/accepting.ts decides; docs/behaviour.md#admission).
// The supervisor owns the listening sockets. It keeps copies of their handles that it never
// accepts on — Node cannot stop accepting on a handle without closing it, so the copies come
// back from a worker, which receives each handle as a fresh descriptor — gives them to every
// worker with an idle child, and accepts on a spare copy itself only while no worker does.
import net from 'node:net';
import { planAccepting } from '../policy/accepting.js';
import type { WorkerPool } from './worker-pool.js';

/** A libuv listening handle (TCP or pipe) that came over IPC. */
interface RawHandle {
  close(): void;
}

/** One for the workers and one spare for the supervisor to accept on, per listener. */
const COPIES_KEPT = 2;
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
  /** A client the supervisor accepted (paused, unread). */
  accepted(socket: net.Socket): void;
}

export class AcceptControl {
  private readonly listening: boolean[];
  private readonly kept: RawHandle[][];
  /** The servers the supervisor accepts on while it does; first the ones bound at start. */
  private own: net.Server[] | undefined;
  private acceptTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Grants on their way that carry the handle of a server bound at start: Node sends handle
   * messages one at a time, so one may still be queued when the copies are back, and closing
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
    this.kept = bound.map(() => []);
    this.own = bound.map((b) => b.server);
  }

  /** Re-plans after anything that changes free children, the queue, or who listens. */
  update(): void {
    // Every worker accepting is the common case, and nothing to change (the plan grants only
    // workers that do not accept, and accepts here only when none does).
    if (this.closed || (!this.own && this.listening.every(Boolean))) return;
    const v = this.d.view();
    const plan = planAccepting({ ...v, listening: this.listening });
    for (const w of plan.grant) this.grant(w);
    if (plan.supervisorAccepts) this.acceptSoon();
    else this.stopAcceptingHere();
  }

  /** A copy of listener `index` a worker sent back. */
  copyArrived(index: number, handle: unknown): void {
    const copies = this.kept[index];
    if (!copies || this.closed || copies.length >= COPIES_KEPT) (handle as RawHandle | undefined)?.close();
    else copies.push(handle as RawHandle);
    this.update();
  }

  /** Worker `w` closed its listeners (no idle child), or exited. */
  notListening(w: number): void {
    this.listening[w] = false;
    this.update();
  }

  /** Stops accepting everywhere here; the workers stop on their shutdown message. */
  close(): void {
    this.closed = true;
    clearTimeout(this.acceptTimer);
    for (const s of this.own ?? []) s.close();
    this.own = undefined;
    for (const copies of this.kept) for (const h of copies.splice(0)) h.close();
  }

  private grant(w: number): void {
    let sent = false;
    this.bound.forEach(({ backlog }, index) => {
      // Before the first copy is back, the handle of the server bound at start goes.
      const copy = this.kept[index][0];
      const handle = copy ?? (this.own?.[index] as unknown as { _handle?: unknown })?._handle;
      if (!handle) return;
      const copies = COPIES_KEPT - this.kept[index].length;
      if (!copy) this.boundHandlesInFlight++;
      const delivered = () => {
        if (!copy) this.boundHandlesInFlight--;
        this.update();
      };
      const failed = () => {
        // The worker will not accept on it: say so, and plan again.
        this.listening[w] = false;
        delivered();
      };
      if (
        this.d.workers.send(
          w,
          { t: 'listen', index, backlog, copies },
          handle as unknown as net.Socket,
          failed,
          delivered,
        )
      )
        sent = true;
      else if (!copy) this.boundHandlesInFlight--;
    });
    if (sent) this.listening[w] = true;
  }

  /** Accepts here if, SUPERVISOR_ACCEPT_DELAY_MS from now, still no worker does. */
  private acceptSoon(): void {
    if (this.own || this.acceptTimer) return;
    this.acceptTimer = setTimeout(() => {
      this.acceptTimer = undefined;
      if (this.closed) return;
      const plan = planAccepting({ ...this.d.view(), listening: this.listening });
      if (plan.supervisorAccepts) this.acceptHere();
    }, SUPERVISOR_ACCEPT_DELAY_MS);
  }

  private acceptHere(): void {
    if (this.own) return;
    // Without a spare for every listener, clients wait in the kernel's listen queue until a worker accepts again.
    if (this.kept.some((copies) => copies.length < COPIES_KEPT)) return;
    this.own = this.bound.map(({ backlog }, index) => {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.d.accepted(s));
      server.on('error', () => {});
      server.listen(this.kept[index].pop() as unknown as net.Server, backlog);
      return server;
    });
  }

  private stopAcceptingHere(): void {
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    // The servers bound at start hold the only descriptors until the first copies are back,
    // and must stay open while a grant carrying their handle is still on its way.
    if (!this.own || this.kept.some((copies) => copies.length === 0) || this.boundHandlesInFlight > 0) return;
    for (const s of this.own) s.close();
    this.own = undefined;
  }
}
