// The front door (docs/behaviour.md#admission): every client the supervisor accepted, or a
// worker accepted and could not serve, until a child has it. reserved_connections is
// decided at accept; a client goes to a worker unread when a child is free, else it waits
// in the overflow queue, read only far enough to catch a CancelRequest, a bad first packet
// or a hang-up, and is handed over when a child frees. With admin_reserved_children, a
// waiting client's startup packet tells whether it is in admin_users: an administrator
// takes any free child ahead of the line, others only the children the reservation leaves.
import type net from 'node:net';
import type client from 'prom-client';
import { durationMs } from '../config/accessors.js';
import type { WaitingClient } from '../admin/waiting-report.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { StopMode } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import { admitOnAccept, chooseWorker, ordinaryMayTake, placeClient, totalFree } from '../policy/admission.js';
import { errorResponse } from '../protocol/backend-write.js';
import { CANCEL_REQUEST_CODE, MAX_CANCEL_KEY_LENGTH, MAX_STARTUP_PACKET_LENGTH } from '../protocol/codes.js';
import { poolerError } from '../protocol/errors.js';
import { readStartupPacket, type StartupPacket } from '../protocol/frontend-read.js';
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
  /** new: just accepted; reading: read before it is refused, unless an administrator; waiting: in line for a child; sent: handed to a worker. */
  state: 'new' | 'reading' | 'waiting' | 'sent';
  /** In admin_users, from its startup packet (admin_reserved_children on); undefined until read. */
  admin?: boolean;
  /** Handed to a worker and not done: it holds a child. */
  holdsChild: boolean;
  /** What a client read first is refused for unless it is an administrator. */
  refusal?: 'reserved' | 'queue-full';
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
  /** A client joined the queue or left it unserved: who accepts depends on whether anyone waits. */
  queueChanged(): void;
  /** The wait histogram, when metrics are on. */
  waitSeconds(): client.Histogram | undefined;
  /** Transaction mode: `placed` with the worker with room for a client (supervisor/tx-clients.ts), unless refused. */
  txWorker(socket: net.Socket, placed: (worker: number) => void): void;
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

  /** The clients waiting for a child, first in line first (SHOW pool_waiting). */
  waitingClients(): WaitingClient[] {
    const now = performance.now();
    return this.queue.values().map((p) => {
      const first = readStartupPacket(p.initial);
      const startup = first.state === 'done' && first.packet.kind === 'startup' ? first.packet : undefined;
      return {
        host: p.socket.remoteAddress ?? '[local]',
        port: p.socket.remotePort,
        user: startup?.user,
        database: startup?.database,
        since: Date.now() - (now - (p.waitingSince ?? now)),
        admin: p.admin,
      };
    });
  }

  /** The clients of administrators that hold a child (SHOW pool_processes marks their children reserved). */
  adminConnIds(): Set<number> {
    const out = new Set<number>();
    for (const p of this.pending.values()) if (p.admin && p.holdsChild) out.add(p.id);
    return out;
  }

  onConnection(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.d.counters.supervisorAccepted++;
    socket.on('error', () => {});
    const admission = admitOnAccept(this.pending.size - this.tally().admins, this.d.config());
    if (admission === 'reject-reserved') return this.rejectReserved(socket);
    const p = this.admit(socket, Buffer.alloc(0));
    if (admission === 'read-first') this.readFirst(p, 'reserved');
    else this.place(p);
  }

  /** A free child if it may take one, else the line, or a refusal (line full). */
  private place(p: Pending): void {
    const free = this.d.directory.freeByWorker();
    const v = {
      free: totalFree(free),
      waiting: this.queue.length,
      ordinaryHolding: this.tally().ordinaryHolding,
      admin: p.admin === true,
    };
    switch (placeClient(v, this.d.config())) {
      case 'dispatch':
        // Fast path: the socket goes to a worker unread (pauseOnConnect), so no byte can be lost in the handoff.
        this.dispatch(p, chooseWorker(free));
        return;
      case 'reject-queue-full':
        return this.rejectQueueFull(p);
      case 'read-first':
        return this.readFirst(p, 'queue-full');
      case 'wait':
        this.wait(p, false);
        this.d.noFreeChild();
        return;
    }
  }

  /**
   * A worker could not place a client it was handed, or one it accepted itself (`connId` < 0),
   * as its idle child went: first in line.
   */
  clientBack(w: number, connId: number, initial: Buffer, socket: net.Socket | undefined): void {
    this.d.directory.settle(w, connId);
    if (socket && this.d.config().pool_mode === 'transaction') {
      // Its worker was full to its share of max_client_conn: one with room takes it, as a new client.
      this.connDone(connId);
      const bytes = Buffer.concat([initial, stopReading(socket)]);
      return this.d.txWorker(socket, (to) => this.dispatch(this.admit(socket, bytes), to));
    }
    const p = connId < 0 && socket ? this.admit(socket, initial) : this.pending.get(connId);
    if (!p || !socket) {
      socket?.destroy();
      this.connDone(connId);
      return;
    }
    socket.on('error', () => {});
    p.holdsChild = false;
    p.socket = socket;
    p.initial = initial;
    this.wait(p, true);
    this.drainQueue();
  }

  /** A client from now on counted until it is done with a child (reserved_connections). */
  private admit(socket: net.Socket, initial: Buffer): Pending {
    const p: Pending = { id: this.nextConnId++, socket, initial, state: 'new', holdsChild: false };
    this.pending.set(p.id, p);
    return p;
  }

  /** The client of `connId` is done with its child, or never reached one. */
  connDone(connId: number): void {
    const p = this.pending.get(connId);
    if (!p) return;
    p.holdsChild = false;
    this.pending.delete(connId);
  }

  /**
   * Known administrators among the clients (reserved_connections does not count them), and
   * the children held by the others: derived from `pending` whenever the reservation asks,
   * never counters that could drift; nothing to count without it.
   */
  private tally(): { admins: number; ordinaryHolding: number } {
    let admins = 0;
    let ordinaryHolding = 0;
    if (this.d.config().admin_reserved_children > 0)
      for (const p of this.pending.values()) {
        if (p.admin) admins++;
        else if (p.holdsChild) ordinaryHolding++;
      }
    return { admins, ordinaryHolding };
  }

  /**
   * Hands waiting clients to free children, first come first served; administrators pass
   * those the reservation holds back.
   */
  drainQueue(): void {
    const cfg = this.d.config();
    while (this.queue.length > 0) {
      const w = chooseWorker(this.d.directory.freeByWorker());
      if (w < 0) return;
      const othersMay = ordinaryMayTake(this.tally().ordinaryHolding, cfg);
      const p = this.queue.takeFirst((x) => othersMay || x.admin === true);
      if (!p) return;
      this.dispatch(p, w);
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
    this.watch(p);
    this.d.queueChanged();
  }

  /** Read before a refusal that an administrator escapes (admin_reserved_children). */
  private readFirst(p: Pending, refusal: 'reserved' | 'queue-full'): void {
    p.state = 'reading';
    p.refusal = refusal;
    this.watch(p);
  }

  /** Reads the client's first packet while it is not with a child. */
  private watch(p: Pending): void {
    if (!p.onData) {
      p.onData = (chunk) => this.onWaitingBytes(p, chunk);
      p.onGone = () => this.forget(p);
      p.socket.on('data', p.onData);
      p.socket.on('end', p.onGone);
      p.socket.on('close', p.onGone);
      p.socket.on('error', p.onGone);
      if (p.initial.length > 0) this.onWaitingBytes(p, Buffer.alloc(0));
      if (p.state === 'sent') return;
      p.socket.resume();
    }
    // A client still sending its first packet after authentication_timeout is refused now, not holding a child later.
    const timeoutMs = durationMs(this.d.config(), 'authentication_timeout');
    if (timeoutMs > 0 && !p.timer) {
      p.timer = setTimeout(() => {
        if (p.state === 'sent' || readStartupPacket(p.initial).state === 'done') return;
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
    if (first.state === 'done' && this.d.config().admin_reserved_children > 0 && this.classify(p, first.packet)) return;
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

  /**
   * admin_reserved_children: whether the client is in admin_users, from its startup packet.
   * An SSLRequest or GSSENCRequest the pooler would decline anyway is declined here, so the
   * startup packet follows; under ssl = on the user is known only after the handshake, in a
   * worker, and the client counts as not an administrator. True when `p` was dealt with.
   */
  private classify(p: Pending, packet: StartupPacket): boolean {
    if (p.admin !== undefined || packet.kind === 'cancel') return false;
    const cfg = this.d.config();
    if (packet.kind === 'gssenc' || (packet.kind === 'ssl' && !cfg.ssl)) {
      p.socket.write('N');
      p.initial = p.initial.subarray(8);
      if (p.initial.length > 0) this.onWaitingBytes(p, Buffer.alloc(0));
      return true;
    }
    p.admin = packet.kind === 'startup' && cfg.admin_users.includes(packet.user);
    if (p.state === 'reading') {
      if (!p.admin) this.refuse(p, p.refusal!);
      else this.place(p);
    } else if (p.admin) this.drainQueue();
    return true;
  }

  private refuse(p: Pending, why: 'reserved' | 'queue-full'): void {
    if (why === 'queue-full') this.rejectQueueFull(p);
    else {
      this.rejectReserved(p.socket);
      this.forget(p);
    }
  }

  private rejectReserved(socket: net.Socket): void {
    this.d.counters.rejectedReserved++;
    const e = poolerError('RESERVED_CONNECTIONS');
    this.d.log().info({ peer: socket.remoteAddress, limit: e.limit }, `${e.message} (reserved_connections)`);
    socket.end(errorResponse(e));
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
    p.holdsChild = true;
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
    p.state = 'sent';
    this.connDone(p.id);
    if (this.queue.remove(p)) this.d.queueChanged();
  }

  /** Every client not yet with a child, for a worker that died with their sockets. */
  lost(connIds: readonly number[]): void {
    for (const id of connIds) this.connDone(id);
  }
}
