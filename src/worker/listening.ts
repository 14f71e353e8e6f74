// The client listeners this worker accepts on (docs/behaviour.md#admission): the supervisor
// owns the listening sockets and gives each worker their handles once; the worker accepts
// on them while it has an idle child, as a pgpool child calls accept() only when idle, and
// pauses them (ipc/accept-switch.ts) when its last idle child is taken or while the
// supervisor's queue has clients, who go first. Clients that come meanwhile wait in the
// kernel's listen queue. Each change is said (`accepting`).
import type net from 'node:net';
import { listenOnReceived, pauseAccepting, resumeAccepting } from '../ipc/accept-switch.js';
import type { FromWorker } from '../ipc/messages.js';

export interface ListeningDeps {
  /** A client this worker accepted. */
  accepted(socket: net.Socket): void;
  /** Sends at once; the handle goes with the message; `done` when written. */
  send(m: FromWorker, handle: unknown, done: () => void): void;
  /**
   * Says whether this worker accepts: only the latest matters, so it may wait (up to 100 ms,
   * as child states do) unless `now`.
   */
  report(m: FromWorker, now: boolean): void;
  /** Whether a child is idle now. */
  idle(): boolean;
  /** A listener could not be paused: it was closed instead. */
  warn(message: string): void;
}

export class Listening {
  private readonly servers = new Map<number, net.Server>();
  /** Whether the servers accept now. */
  private accepting = false;
  /** The supervisor's queue has clients: they take freed children first. */
  private held = false;
  private stopped = false;

  constructor(private readonly d: ListeningDeps) {}

  get open(): boolean {
    return this.accepting;
  }

  /** Whether the supervisor may learn child states late: this worker accepts by itself and nobody queues. */
  get reportsMayWait(): boolean {
    return this.servers.size > 0 && !this.held && !this.stopped;
  }

  /**
   * Whether a child's report may wait (within 100 ms, only its latest kept): nobody waits on
   * the comings and goings of this worker's own clients while it accepts by itself and
   * nobody queues. Not so for sockets it was handed, exits, or while clients queue.
   */
  mayReportLate(m: FromWorker): m is Extract<FromWorker, { t: 'childState' }> {
    return (
      m.t === 'childState' &&
      this.reportsMayWait &&
      (m.state.kind === 'idle' || (m.state.kind === 'busy' && m.state.connId < 0))
    );
  }

  /** The supervisor gave listener `index`: keep it, once the copies it asked for left. */
  take(index: number, backlog: number, handle: unknown, copies: number, hold: boolean): void {
    this.held = hold;
    // No handle came with the grant (it failed on the way): refuse it, or the supervisor
    // would believe this worker accepts.
    if (!handle) return this.lose();
    const start = () => {
      if (this.stopped) return closeHandle(handle);
      this.servers.get(index)?.close();
      const server = listenOnReceived(handle, backlog, this.d.accepted, () => this.lose());
      this.servers.set(index, server);
      // A listener joins the others' state: paused before the loop polls it, if they are.
      if (!this.accepting && !pauseAccepting(server)) return this.cannotPause();
      this.apply(true);
    };
    if (copies <= 0) return start();
    // Each send gives the supervisor a descriptor of its own; the last one's callback starts accepting.
    for (let c = 1; c <= copies; c++)
      this.d.send({ t: 'listenerCopy', index }, handle, c === copies ? start : () => {});
  }

  /** After any child's transition: accept while a child is idle, pause when none is. */
  childrenChanged(): void {
    this.apply(false);
  }

  /** The supervisor's queue got clients (they go first), or has none left. */
  hold(held: boolean): void {
    this.held = held;
    this.apply(false);
  }

  /** Shutdown: accept nothing more. */
  stop(): void {
    this.stopped = true;
    this.accepting = false;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
  }

  /** Pauses or resumes every listener to match; says so when it changed (or `always`). */
  private apply(always: boolean): void {
    const want = !this.stopped && !this.held && this.servers.size > 0 && this.d.idle();
    if (want === this.accepting && !always) return;
    for (const s of this.servers.values())
      if (!(want ? resumeAccepting(s) : pauseAccepting(s))) return this.cannotPause();
    this.accepting = want;
    // While clients queue, the supervisor waits on who accepts; otherwise it learns it late
    // (it accepts itself only once no worker has for a while).
    this.d.report({ t: 'accepting', open: want, granted: true }, this.held);
  }

  private cannotPause(): void {
    this.d.warn('a client listener cannot be paused in this Node version: closed instead, to be given again');
    this.lose();
  }

  /** The listeners are gone (an error, or no handle came): the supervisor gives them again. */
  private lose(): void {
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    this.accepting = false;
    this.d.report({ t: 'accepting', open: false, granted: false }, true);
  }
}

/** A raw listening handle that will not be listened on here. */
function closeHandle(handle: unknown): void {
  (handle as { close?: () => void } | undefined)?.close?.();
}
