// The hot path: bytes between a client and its backend connection, forwarded in the
// chunks they arrive in. Only message headers are read (protocol/header-scanner.ts) into
// the relay's StreamState; each socket is paused while the other cannot take more, so
// memory stays bounded both ways.
import type net from 'node:net';
import { mayBePoolerCommand } from '../../admin/pooler-command.js';
import { BackendCode, FrontendCode } from '../../protocol/codes.js';
import { joinTaps, SCAN_CONTINUE, type MessageTap } from '../../protocol/header-scanner.js';
import { StreamState } from '../../protocol/stream-state.js';
import { backendKinds, type BackendMessageLog } from './backend-message-log.js';
import type { StatementTap } from './client-message-log.js';
import type { RequestTiming } from './request-timing.js';

/**
 * The pooler's own commands (SHOW pool_*, PGPOOL SHOW/SET/RESET) sent as a simple Query:
 * undefined lets the query go to PostgreSQL; otherwise the returned function runs the
 * command and gives the whole response (ending in ReadyForQuery), or a promise of it
 * (reports that need the supervisor). The query is shown to a message tap before it runs.
 */
export type PoolerCommandHook = (query: string) => (() => Buffer | Promise<Buffer>) | undefined;

export type RelayEnd =
  | { kind: 'terminate' } // the client sent Terminate
  | { kind: 'client-gone' } // the client's socket closed without Terminate
  | BackendGone // PostgreSQL's connection ended
  | { kind: 'protocol-error'; message: string }
  | { kind: 'stopped'; reason: string }; // the pooler ended it (shutdown, idle limit)

/** A backend connection that ended under a session (docs/behaviour.md#failover). */
export interface BackendGone {
  readonly kind: 'backend-gone';
  /** The node whose connection ended; undefined: the session's only one. */
  readonly node?: number;
  /** The socket's error (ECONNRESET, …); undefined when PostgreSQL closed it (EOF). */
  readonly socketError?: string;
  /** What PostgreSQL sent that cannot be read or was not expected (the connection is dropped, it did not end). */
  readonly garbled?: string;
  /** PostgreSQL's last message was an ErrorResponse: it said why itself. */
  readonly saidWhy: boolean;
}

export class Relay {
  /** The connection's protocol state: the one copy, read by reset, timing, reports and logging. */
  readonly stream = new StreamState();
  /** performance.now() of the last data either way: client_idle_limit, and the start or end of a timed request. */
  lastActivity = performance.now();
  /** Bytes relayed each way (metrics). */
  bytesFromClient = 0;
  bytesToClient = 0;
  private ended = false;
  private tap: StatementTap | undefined;
  /** Taps on PostgreSQL's messages: failover_on_backend_shutdown's watch, log_backend_messages. */
  private shutdownWatch: MessageTap | undefined;
  private backendLog: MessageTap | undefined;
  /** Notices for the client waiting for PostgreSQL's stream to it to reach a message boundary. */
  private waitingNotices: Buffer[] | undefined;

  private readonly onClientData = (chunk: Buffer) => {
    this.timing.now = this.lastActivity = performance.now();
    this.bytesFromClient += chunk.length;
    this.relayClientChunk(chunk);
  };

  constructor(
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly onEnd: (end: RelayEnd) => void,
    private readonly poolerCommand: PoolerCommandHook,
    private readonly timing: RequestTiming,
    private readonly node: number,
  ) {
    this.stream.client.stopAtQuery = true;
    this.stream.timer = timing;
  }

  /** Shows the client's messages to `tap` (undefined: to nobody) from the next message boundary on. */
  setTap(tap: StatementTap | undefined): void {
    this.tap = tap;
    this.stream.client.setTap(tap);
  }

  /** failover_on_backend_shutdown (session.ts): `watch` sees PostgreSQL's messages. */
  watchShutdown(watch: MessageTap): void {
    this.shutdownWatch = watch;
    this.tapServer();
  }

  setBackendLog(log: BackendMessageLog | undefined): void {
    this.backendLog = log && backendKinds(log, this.node);
    this.tapServer();
  }

  private tapServer(): void {
    this.stream.server.setTap(joinTaps(this.shutdownWatch, this.backendLog));
  }

  /**
   * A notice of the pooler's, written while the client's message is scanned: after the
   * replies relayed so far, before this message's. Only between two of PostgreSQL's
   * messages: while a reply is half written to the client (a pipelining client's next
   * request came as it streamed) the notice waits for the next chunk that ends whole.
   */
  clientNotice(b: Buffer): void {
    if (!this.waitingNotices && this.stream.server.atBoundary) this.client.write(b);
    else (this.waitingNotices ??= []).push(b);
  }

  private relayClientChunk(chunk: Buffer): void {
    const scanner = this.stream.client;
    let from = 0;
    let sent = 0; // bytes of this chunk already forwarded (only ever non-zero around a pooler command)
    for (;;) {
      let stop: number;
      try {
        stop = scanner.scan(chunk, from);
      } catch (e) {
        return this.finish({ kind: 'protocol-error', message: (e as Error).message });
      }
      if (stop === SCAN_CONTINUE) break;
      if (chunk[stop] === FrontendCode.Terminate) {
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        if (stop + 5 <= chunk.length) scanner.consumed(chunk, stop, stop + 5);
        return this.finish({ kind: 'terminate' });
      }
      const answered = this.tryPoolerCommand(chunk, stop);
      if (answered < 0) {
        // An answer on its way: what came before the query goes now, the rest after the answer.
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        return;
      }
      if (answered > 0) {
        if (stop > sent) this.backend.write(chunk.subarray(sent, stop));
        sent = from = stop + answered;
      } else {
        scanner.passQuery = true;
        from = stop;
      }
    }
    const ok =
      sent === 0 ? this.backend.write(chunk) : sent < chunk.length ? this.backend.write(chunk.subarray(sent)) : true;
    if (!ok) this.client.pause();
  }

  /**
   * Length of the Query message at `at` when the hook answered it, 0 when it goes to
   * PostgreSQL, −1 when the answer is pending: the client is paused until it is written
   * and the rest of `chunk` relayed.
   */
  private tryPoolerCommand(chunk: Buffer, at: number): number {
    if (at + 5 > chunk.length) return 0;
    const len = chunk.readInt32BE(at + 1);
    const end = at + 1 + len;
    const s = this.stream;
    // Only whole, unpipelined queries: the answer must not overtake PostgreSQL's pending replies.
    if (end > chunk.length || s.pending !== 0 || !mayBePoolerCommand(chunk, at + 5, end - 1)) return 0;
    // While the pooler works on the answer the client is executing a command (SHOW pool_processes says so).
    const command = this.poolerCommand(chunk.toString('utf8', at + 5, end - 1));
    if (!command) return 0;
    if (this.tap) this.tap.shownAs = 'answered';
    s.client.consumed(chunk, at, end);
    if (this.tap) this.tap.shownAs = 'sent';
    s.answeringCommand = true;
    const answer = command();
    if (Buffer.isBuffer(answer)) {
      s.answeringCommand = false;
      this.client.write(answer);
      return end - at;
    }
    this.client.pause();
    const rest = chunk.subarray(end);
    answer.then(
      (a) => {
        s.answeringCommand = false;
        if (this.ended) return;
        this.client.write(a);
        if (rest.length > 0) this.relayClientChunk(rest);
        if (!this.ended && !this.backend.writableNeedDrain) this.client.resume();
      },
      (e: Error) => {
        s.answeringCommand = false;
        this.finish({ kind: 'protocol-error', message: `admin command failed: ${e.message}` });
      },
    );
    return -1;
  }

  private readonly onBackendData = (chunk: Buffer) => {
    this.timing.now = this.lastActivity = performance.now();
    this.bytesToClient += chunk.length;
    try {
      this.stream.server.scan(chunk);
    } catch (e) {
      return this.finish({ kind: 'protocol-error', message: `from backend: ${(e as Error).message}` });
    }
    const ok = this.client.write(chunk);
    if (this.waitingNotices && this.stream.server.atBoundary) {
      for (const n of this.waitingNotices) this.client.write(n);
      this.waitingNotices = undefined;
    }
    if (!ok) this.backend.pause();
  };
  private readonly onClientDrain = () => this.backend.resume();
  private readonly onBackendDrain = () => this.client.resume();
  private readonly onClientGone = () => this.finish({ kind: 'client-gone' });
  private readonly onBackendGone = () => this.finish(this.backendGone());
  private readonly onBackendError = (e: NodeJS.ErrnoException) =>
    this.finish({ ...this.backendGone(), socketError: e.code ?? e.message });

  private backendGone(): BackendGone {
    return { kind: 'backend-gone', saidWhy: this.stream.server.messageType === BackendCode.ErrorResponse };
  }

  /** Every listener the relay attaches, so that attaching and detaching stay in step. */
  private listeners(): Array<
    [net.Socket, string, ((chunk: Buffer) => void) | (() => void) | ((e: NodeJS.ErrnoException) => void)]
  > {
    return [
      [this.client, 'data', this.onClientData],
      [this.client, 'drain', this.onClientDrain],
      [this.client, 'end', this.onClientGone],
      [this.client, 'close', this.onClientGone],
      [this.client, 'error', this.onClientGone],
      [this.backend, 'data', this.onBackendData],
      [this.backend, 'drain', this.onBackendDrain],
      [this.backend, 'close', this.onBackendGone],
      [this.backend, 'error', this.onBackendError],
    ];
  }

  start(pendingFromBackend: Buffer, pendingFromClient: Buffer): void {
    for (const [socket, event, fn] of this.listeners()) socket.on(event, fn);
    if (pendingFromBackend.length > 0) this.onBackendData(pendingFromBackend);
    if (pendingFromClient.length > 0 && !this.ended) this.onClientData(pendingFromClient);
    if (this.backend.destroyed) return this.finish(this.backendGone());
    if (this.client.destroyed) return this.finish({ kind: 'client-gone' });
    this.client.resume();
    this.backend.resume();
  }

  /** Milliseconds (now from performance.now()) the session has been waiting for its client, or 0 while a request runs. */
  clientIdleFor(now: number): number {
    return this.stream.executing ? 0 : now - this.lastActivity;
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
    this.onEnd(end);
  }
}
