// The client listeners this worker accepts on (docs/behaviour.md#admission): the supervisor
// owns the listening sockets and gives a worker their handles while it has an idle child;
// the worker closes them (its copies only) when its last idle child is taken, as a pgpool
// child calls accept() only when idle, and says so. Clients that come meanwhile wait in the
// kernel's listen queue, or in the supervisor's when no worker accepts.
import net from 'node:net';
import type { FromWorker } from '../ipc/messages.js';

export interface ListeningDeps {
  /** A client this worker accepted. */
  accepted(socket: net.Socket): void;
  /** Sends at once; the handle goes with the message; `done` when written. */
  send(m: FromWorker, handle: unknown, done: () => void): void;
  /** Sends without a handle (batched with the turn's other messages). */
  push(m: FromWorker): void;
  /** Whether a child is idle now. */
  idle(): boolean;
}

export class Listening {
  private readonly servers = new Map<number, net.Server>();
  private stopped = false;

  constructor(private readonly d: ListeningDeps) {}

  get open(): boolean {
    return this.servers.size > 0;
  }

  /** The supervisor gave listener `index`: accept on it while a child is idle, once the copies it asked for left. */
  take(index: number, backlog: number, handle: unknown, copies: number): void {
    // No handle came with the grant (it failed on the way): refuse it, or the supervisor
    // would believe this worker accepts.
    if (!handle) {
      this.closed();
      return;
    }
    const start = () => {
      if (this.stopped || !this.d.idle()) {
        closeHandle(handle);
        this.closed();
        return;
      }
      this.servers.get(index)?.close();
      // Accepted paused, as the supervisor's are: the session starts reading.
      const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.d.accepted(s));
      server.on('error', () => this.closeAll());
      server.listen(handle as net.Server, backlog);
      this.servers.set(index, server);
    };
    if (copies <= 0) return start();
    // Each send gives the supervisor a descriptor of its own; the last one's callback starts accepting.
    for (let c = 1; c <= copies; c++)
      this.d.send({ t: 'listenerCopy', index }, handle, c === copies ? start : () => {});
  }

  /** After any child's transition: with none idle left, stop accepting. */
  childrenChanged(): void {
    if (this.open && !this.d.idle()) this.closeAll();
  }

  /** Shutdown: accept nothing more. */
  stop(): void {
    this.stopped = true;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
  }

  private closeAll(): void {
    if (!this.open) return;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    this.closed();
  }

  private closed(): void {
    this.d.push({ t: 'notListening' });
  }
}

/** A raw listening handle that will not be listened on here. */
function closeHandle(handle: unknown): void {
  (handle as { close?: () => void } | undefined)?.close?.();
}
