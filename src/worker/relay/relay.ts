// The hot path: bytes between a client and its backend connection, forwarded in the
// chunks they arrive in. Only message headers are read (header-scanner.ts); each socket
// is paused while the other cannot take more, so memory stays bounded both ways.
import type net from 'node:net';
import { FrontendCode } from '../../protocol/codes.js';
import { BackendScanner, FrontendScanner, SCAN_CONTINUE } from '../../protocol/header-scanner.js';
import type { RequestTiming } from './request-timing.js';

/**
 * Answers the pooler's own commands (SHOW pool_*, PGPOOL SHOW/SET/RESET) sent as a simple
 * Query; returns the whole response (ending in ReadyForQuery), a promise of it (reports
 * that need the supervisor), or undefined to let the query go to PostgreSQL.
 */
export type AdminHook = (query: string) => Buffer | Promise<Buffer> | undefined;

const SHOW = [0x73, 0x68, 0x6f, 0x77]; // "show"
const POOL_ = [0x70, 0x6f, 0x6f, 0x6c, 0x5f]; // "pool_"
const PGPOOL = [0x70, 0x67, 0x70, 0x6f, 0x6f, 0x6c]; // "pgpool"
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/** Whether `word` then white space is at `i`, compared in place; returns the index after the space or −1. */
function wordAt(chunk: Buffer, i: number, end: number, word: readonly number[]): number {
  for (const c of word) if (i >= end || lower(chunk[i++]) !== c) return -1;
  if (i >= end || !isSpace(chunk[i])) return -1;
  while (i < end && isSpace(chunk[i])) i++;
  return i;
}

/** Whether the Query message at `at` (whole in the chunk) starts with SHOW pool_ or PGPOOL. */
function looksLikeAdminQuery(chunk: Buffer, at: number, end: number): boolean {
  let i = at + 5;
  while (i < end && isSpace(chunk[i])) i++;
  if (wordAt(chunk, i, end, PGPOOL) >= 0) return true;
  i = wordAt(chunk, i, end, SHOW);
  if (i < 0) return false;
  for (const c of POOL_) if (i >= end || lower(chunk[i++]) !== c) return false;
  return true;
}

export type RelayEnd =
  | { kind: 'terminate' } // the client sent Terminate
  | { kind: 'client-gone' } // the client's socket closed without Terminate
  | { kind: 'backend-gone' } // PostgreSQL closed the connection
  | { kind: 'protocol-error'; message: string }
  | { kind: 'stopped'; reason: string }; // the pooler ended it (shutdown, idle limit)

export class Relay {
  readonly fe = new FrontendScanner();
  readonly be = new BackendScanner();
  /** performance.now() of the last data either way: client_idle_limit, and the start or end of a timed request. */
  lastActivity = performance.now();
  /** Bytes relayed each way (metrics). */
  bytesFromClient = 0;
  bytesToClient = 0;
  private ended = false;
  /** Sees every client byte from a message boundary on (statement and message logging). */
  private tap: ((chunk: Buffer) => void) | undefined;
  private pendingTap: ((chunk: Buffer) => void) | undefined;

  private readonly onClientData = (chunk: Buffer) => {
    this.timing.now = this.lastActivity = performance.now();
    this.bytesFromClient += chunk.length;
    // A new tap starts with a chunk that starts a message, or it could not frame what it sees.
    if (this.pendingTap && this.fe.atBoundary) {
      this.tap = this.pendingTap;
      this.pendingTap = undefined;
    }
    if (this.tap) this.tap(chunk);
    this.relayClientChunk(chunk);
  };

  /** Starts (at the next message boundary) or stops showing client bytes to `tap`. */
  setTap(tap: ((chunk: Buffer) => void) | undefined): void {
    this.tap = undefined;
    this.pendingTap = tap;
  }

  private relayClientChunk(chunk: Buffer): void {
    let from = 0;
    let sent = 0; // bytes of this chunk already forwarded (only ever non-zero around an admin query)
    for (;;) {
      let stop: number;
      try {
        stop = this.fe.scan(chunk, from);
      } catch (e) {
        return this.finish({ kind: 'protocol-error', message: (e as Error).message });
      }
      if (stop === SCAN_CONTINUE) break;
      if (chunk[stop] === FrontendCode.Terminate) {
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        return this.finish({ kind: 'terminate' });
      }
      const answered = this.tryAdmin(chunk, stop);
      if (answered < 0) {
        // An answer on its way: what came before the query goes now, the rest after the answer.
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        return;
      }
      if (answered > 0) {
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        sent = from = stop + answered;
      } else {
        this.fe.passQuery = true;
        from = stop;
      }
    }
    const ok =
      sent === 0 ? this.backend.write(chunk) : sent < chunk.length ? this.backend.write(chunk.subarray(sent)) : true;
    if (!ok) this.client.pause();
  }

  /**
   * Length of the Query message at `at` when the admin hook answered it, 0 when it goes to
   * PostgreSQL, −1 when the answer is pending: the client is paused until it is written
   * and the rest of `chunk` relayed.
   */
  private tryAdmin(chunk: Buffer, at: number): number {
    if (at + 5 > chunk.length) return 0;
    const len = chunk.readInt32BE(at + 1);
    const end = at + 1 + len;
    // Only whole, unpipelined queries: the answer must not overtake PostgreSQL's pending replies.
    if (end > chunk.length || !looksLikeAdminQuery(chunk, at, end) || this.fe.readyRequests !== this.be.readyCount)
      return 0;
    const answer = this.admin(chunk.toString('utf8', at + 5, end - 1));
    if (!answer) return 0;
    if (Buffer.isBuffer(answer)) {
      this.client.write(answer);
      return end - at;
    }
    this.client.pause();
    const rest = chunk.subarray(end);
    answer.then(
      (a) => {
        if (this.ended) return;
        this.client.write(a);
        if (rest.length > 0) this.relayClientChunk(rest);
        if (!this.ended && !this.backend.writableNeedDrain) this.client.resume();
      },
      (e: Error) => this.finish({ kind: 'protocol-error', message: `admin command failed: ${e.message}` }),
    );
    return -1;
  }
  private readonly onBackendData = (chunk: Buffer) => {
    this.timing.now = this.lastActivity = performance.now();
    this.bytesToClient += chunk.length;
    try {
      this.be.scan(chunk);
    } catch (e) {
      return this.finish({ kind: 'protocol-error', message: `from backend: ${(e as Error).message}` });
    }
    if (!this.client.write(chunk)) this.backend.pause();
  };
  private readonly onClientDrain = () => this.backend.resume();
  private readonly onBackendDrain = () => this.client.resume();
  private readonly onClientGone = () => this.finish({ kind: 'client-gone' });
  private readonly onBackendGone = () => this.finish({ kind: 'backend-gone' });

  constructor(
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly onEnd: (end: RelayEnd, relay: Relay) => void,
    private readonly admin: AdminHook,
    private readonly timing: RequestTiming,
  ) {
    this.fe.stopAtQuery = true;
    this.fe.onRequest = timing.sent;
    this.be.onReady = timing.ready;
  }

  /** Every listener the relay attaches, so that attaching and detaching stay in step. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter listeners take any arguments
  private listeners(): Array<[net.Socket, string, (...args: any[]) => void]> {
    return [
      [this.client, 'data', this.onClientData],
      [this.client, 'drain', this.onClientDrain],
      [this.client, 'end', this.onClientGone],
      [this.client, 'close', this.onClientGone],
      [this.client, 'error', this.onClientGone],
      [this.backend, 'data', this.onBackendData],
      [this.backend, 'drain', this.onBackendDrain],
      [this.backend, 'close', this.onBackendGone],
      [this.backend, 'error', this.onBackendGone],
    ];
  }

  start(pendingFromBackend: Buffer, pendingFromClient: Buffer): void {
    for (const [socket, event, fn] of this.listeners()) socket.on(event, fn);
    if (pendingFromBackend.length > 0) this.onBackendData(pendingFromBackend);
    if (pendingFromClient.length > 0 && !this.ended) this.onClientData(pendingFromClient);
    if (this.backend.destroyed) return this.finish({ kind: 'backend-gone' });
    if (this.client.destroyed) return this.finish({ kind: 'client-gone' });
    this.client.resume();
    this.backend.resume();
  }

  /** Milliseconds (now from performance.now()) the session has been waiting for its client, or 0 while PostgreSQL still owes replies. */
  clientIdleFor(now: number): number {
    return this.fe.readyRequests === this.be.readyCount ? now - this.lastActivity : 0;
  }

  /** Ends relaying from outside (shutdown, client_idle_limit). */
  stop(reason: string): void {
    this.finish({ kind: 'stopped', reason });
  }

  private finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = true;
    for (const [socket, event, fn] of this.listeners()) socket.off(event, fn);
    // Paused until the next reader (reset, cache watch) attaches, so no byte is lost.
    this.backend.pause();
    this.onEnd(end, this);
  }
}
