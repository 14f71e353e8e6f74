// The front door (docs/behaviour.md#admission): every client the supervisor accepted, or a
// worker accepted and could not serve, until a child has it. reserved_connections is
// decided at accept; a client goes to a worker unread when a child is free, else it waits
// in the overflow queue, read only far enough to catch a CancelRequest, a bad first packet
// or a hang-up, and is handed over when a child frees.
import type net from 'node:net';
import type client from 'prom-client';
import { durationMs } from '../config/accessors.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { StopMode } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import { admitOnAccept, chooseWorker, placeClient, totalFree } from '../policy/admission.js';
import { errorResponse } from '../protocol/backend-write.js';
import { CANCEL_REQUEST_CODE, MAX_CANCEL_KEY_LENGTH, MAX_STARTUP_PACKET_LENGTH } from '../protocol/codes.js';
import { poolerError } from '../protocol/errors.js';
import { readStartupPacket } from '../protocol/frontend-read.js';
import { stopReading } from '../protocol/socket-handoff.js';
import type { ChildDirectory } from './child-directory.js';
import { OverflowQueue } from './overflow-queue.js';
import type { WorkerPool } from './worker-pool.js';

/** The most a client may send before it is placed: an SSLRequest and a maximal startup packet. */
const MAX_FIRST_BYTES = 8 + MAX_STARTUP_PACKET_LENGTH;

interface Pending {
  readonly id: number;
  socket: net.Socket;
  initial: Buffer;
  /** new: just accepted; waiting: in line for a child; sent: handed to a worker. */
  state: 'new' | 'waiting' | 'sent';
  /** authentication_timeout for a waiting client that has not sent a whole first packet. */
  timer?: NodeJS.Timeout;
  /** When it started waiting for a child (performance.now()), for the wait histogram. */
  waitingSince?: number;
  onData?: (b: Buffer) => void;
  onGone?: () => void;
}

export interface FrontDoorCounters {
  rejectedReserved: number;
  rejectedQueueFull: number;
  supervisorAccepted: number;
}

export interface FrontDoorDeps {
  config(): PgpoolConfig;
  log(): Logger;
  readonly directory: ChildDirectory;
  readonly workers: WorkerPool;
  readonly counters: FrontDoorCounters;
  /** A CancelRequest read from a waiting client. */
  cancel(pid: number, keyHex: string): void;
  /** A client had to wait (dynamic mode checks spare children at once). */
  noFreeChild(): void;
  /** The wait histogram, when metrics are on. */
  waitSeconds(): client.Histogram | undefined;
}

export class FrontDoor {
  /** Every client accepted and not yet done with a child (reserved_connections counts them). */
  private readonly pending = new Map<number, Pending>();
  private readonly queue = new OverflowQueue<Pending>();
  private nextConnId = 1;
  private stopping = false;

  constructor(private readonly d: FrontDoorDeps) {}

  get waiting(): number {
    return this.queue.length;
  }

  onConnection(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.d.counters.supervisorAccepted++;
    const cfg = this.d.config();
    if (admitOnAccept(this.pending.size, cfg) === 'reject-reserved') {
      this.d.counters.rejectedReserved++;
      const e = poolerError('RESERVED_CONNECTIONS');
      this.d.log().info({ peer: socket.remoteAddress, limit: e.limit }, `${e.message} (reserved_connections)`);
      socket.on('error', () => {});
      socket.end(errorResponse(e));
      return;
    }
    const p = this.admit(socket, Buffer.alloc(0));
    socket.on('error', () => {});
    const free = this.d.directory.freeByWorker();
    const decision = placeClient(totalFree(free), this.queue.length, cfg);
    if (decision === 'dispatch') {
      // Fast path: the socket goes to a worker unread (pauseOnConnect), so no byte can be lost in the handoff.
      this.dispatch(p, chooseWorker(free));
      return;
    }
    if (decision === 'reject-queue-full') {
      this.rejectQueueFull(p);
      return;
    }
    this.wait(p, false);
    this.d.noFreeChild();
  }

  /**
   * A worker could not place a client it was handed, or one it accepted itself (`connId` < 0),
   * as its idle child went: first in line.
   */
  clientBack(w: number, connId: number, initial: Buffer, socket: net.Socket | undefined): void {
    this.d.directory.settle(w, connId);
    const p = connId < 0 && socket ? this.admit(socket, initial) : this.pending.get(connId);
    if (!p || !socket) {
      socket?.destroy();
      this.connDone(connId);
      return;
    }
    socket.on('error', () => {});
    p.socket = socket;
    p.initial = initial;
    this.wait(p, true);
    this.drainQueue();
  }

  /** A client from now on counted until it is done with a child (reserved_connections). */
  private admit(socket: net.Socket, initial: Buffer): Pending {
    const p: Pending = { id: this.nextConnId++, socket, initial, state: 'new' };
    this.pending.set(p.id, p);
    return p;
  }

  /** The client of `connId` is done with its child, or never reached one. */
  connDone(connId: number): void {
    this.pending.delete(connId);
  }

  /** Hands waiting clients to free children, first come first served. */
  drainQueue(): void {
    while (this.queue.length > 0) {
      const w = chooseWorker(this.d.directory.freeByWorker());
      if (w < 0) return;
      this.dispatch(this.queue.shift()!, w);
    }
  }

  /** Stops accepting; clients not yet with a child are told (fast) or dropped. */
  close(mode: StopMode): void {
    this.stopping = true;
    this.queue.drain();
    for (const p of [...this.pending.values()]) {
      if (p.state === 'sent') continue;
      if (mode === 'fast') p.socket.end(errorResponse(poolerError('SHUTDOWN')));
      else p.socket.destroy();
      this.forget(p);
    }
  }

  /** No free child: the client waits, and its first packet is read meanwhile. */
  private wait(p: Pending, first: boolean): void {
    p.state = 'waiting';
    p.waitingSince = performance.now();
    if (first) this.queue.pushFront(p);
    else this.queue.push(p);
    p.onData = (chunk) => this.onWaitingBytes(p, chunk);
    p.onGone = () => this.forget(p);
    p.socket.on('data', p.onData);
    p.socket.on('end', p.onGone);
    p.socket.on('close', p.onGone);
    p.socket.on('error', p.onGone);
    if (p.initial.length > 0) this.onWaitingBytes(p, Buffer.alloc(0));
    if (p.state !== 'waiting') return;
    p.socket.resume();
    // A real client sends its whole first packet at once and then waits; one that is still
    // sending it after authentication_timeout is refused now rather than holding a child later.
    const timeoutMs = durationMs(this.d.config(), 'authentication_timeout');
    if (timeoutMs > 0 && !p.timer) {
      p.timer = setTimeout(() => {
        if (p.state !== 'waiting' || readStartupPacket(p.initial).state === 'done') return;
        this.d.log().info({ peer: p.socket.remoteAddress }, 'authentication timeout while waiting for a child');
        p.socket.end(errorResponse(poolerError('AUTH_TIMEOUT')));
        this.forget(p);
      }, timeoutMs);
    }
  }

  private onWaitingBytes(p: Pending, chunk: Buffer): void {
    if (chunk.length > 0) p.initial = p.initial.length === 0 ? chunk : Buffer.concat([p.initial, chunk]);
    if (p.initial.length > MAX_FIRST_BYTES) {
      // A waiting client sends nothing after its startup packet; more is garbage.
      p.socket.destroy();
      this.forget(p);
      return;
    }
    // A first packet that is already wrong is refused now, not after the wait for a child.
    const first = readStartupPacket(p.initial);
    if (first.state === 'error') {
      const e = first.error;
      if (e.silent) {
        this.d.log()[e.logLevel]({ peer: p.socket.remoteAddress, detail: e.detail }, e.message);
        p.socket.destroy();
      } else p.socket.end(errorResponse(e));
      this.forget(p);
      return;
    }
    if (p.initial.length < 8 || p.initial.readInt32BE(4) !== CANCEL_REQUEST_CODE) return;
    const len = p.initial.readInt32BE(0);
    if (len < 12 || len > 12 + MAX_CANCEL_KEY_LENGTH) {
      p.socket.destroy();
      this.forget(p);
    } else if (p.initial.length >= len) {
      p.socket.destroy();
      this.forget(p);
      this.d.cancel(p.initial.readInt32BE(8), p.initial.toString('hex', 12, len));
    }
  }

  private rejectQueueFull(p: Pending): void {
    this.d.counters.rejectedQueueFull++;
    const e = poolerError('QUEUE_FULL', { waiting: this.queue.length });
    this.d.log().warn({ waiting: this.queue.length, limit: e.limit }, `${e.message} (wait queue full)`);
    p.socket.end(errorResponse(e));
    this.forget(p);
  }

  private dispatch(p: Pending, w: number): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    if (p.waitingSince !== undefined) this.d.waitSeconds()?.observe((performance.now() - p.waitingSince) / 1000);
    p.waitingSince = undefined;
    p.state = 'sent';
    if (p.onData) {
      p.socket.off('data', p.onData);
      p.socket.off('end', p.onGone!);
      p.socket.off('close', p.onGone!);
      p.socket.off('error', p.onGone!);
      p.onData = p.onGone = undefined;
      // Every byte read so far goes with the socket (protocol/socket-handoff.ts).
      const read = stopReading(p.socket);
      if (read.length > 0) p.initial = Buffer.concat([p.initial, read]);
    }
    this.d.directory.handOver(w, p.id);
    const lost = (why: string) => {
      this.d.log().warn({ worker: w, connId: p.id }, `could not hand a client to its worker: ${why}`);
      this.d.directory.settle(w, p.id);
      p.socket.destroy();
      this.connDone(p.id);
    };
    const sent = this.d.workers.send(
      w,
      { t: 'client', connId: p.id, initial: p.initial.toString('base64') },
      p.socket,
      (e) => lost(e.message),
    );
    if (!sent) lost('worker not running');
  }

  /** A client that left (or was refused) before it reached a child. */
  private forget(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.state === 'sent') return;
    this.queue.remove(p);
    p.state = 'sent';
    this.connDone(p.id);
  }

  /** Every client not yet with a child, for a worker that died with their sockets. */
  lost(connIds: readonly number[]): void {
    for (const id of connIds) this.connDone(id);
  }
}
