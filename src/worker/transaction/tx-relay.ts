// Transaction pooling's relay (docs/transaction-pooling.md): one client for its whole session,
// a backend connection (and a child) only while a transaction runs, on the primary or, for a
// read, the load-balance node. Whole messages are read both ways: named statements renamed
// and prepared where missing, state-changing tags watched, the state probed at the end.
import { mayBePoolerCommand } from '../../admin/pooler-command.js';
import { simpleQuery, type Rows, type StatusSink } from '../../backend/simple-query.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { restoreSql, type CarriedState, type PinReason } from '../../policy/session-state.js';
import { errorResponse, parameterStatus } from '../../protocol/backend-write.js';
import { FrontendCode } from '../../protocol/codes.js';
import { poolerError, PoolerError } from '../../protocol/errors.js';
import { asMessage, MessageReader, type Message } from '../../protocol/message-reader.js';
import { StreamState } from '../../protocol/stream-state.js';
import type { BackendMessageLog } from '../relay/backend-message-log.js';
import { showWhole, type StatementTap, type StatementTarget } from '../relay/client-message-log.js';
import type { RelayEnd } from '../relay/relay.js';
import { cstringAt, lostOn } from './tx-messages.js';
import type { ConnSession } from './tx-pool.js';
import { TxRequests } from './tx-requests.js';
import { flushTo, Outgoing, writeAtTurnEnd, type PendingWriter } from '../relay/outgoing.js';
import type { TxRelayDeps } from './tx-relay-deps.js';
import { logPinned, probeSession } from './tx-probe.js';

const IGNORE = (): void => {};
const NO_PINS: readonly PinReason[] = [];
/** Bytes a client waiting for a child may have sent before its socket is paused. */
const MAX_WAITING_BYTES = 256 * 1024;
/** How long the pooler's own queries (restore, probe) may take. */
const OWN_QUERY_TIMEOUT_MS = 10_000;

export class TxRelay implements PendingWriter {
  readonly stream = new StreamState();
  lastActivity = performance.now();
  bytesFromClient = 0;
  bytesToClient = 0;
  /** Why the client keeps its connection between transactions; empty when it does not. */
  pins: readonly PinReason[] = NO_PINS;
  private conn: ServerConnection | undefined;
  private connSession: ConnSession | undefined;
  private readonly fromClient = new MessageReader();
  private readonly inbox: Buffer[] = []; // the client's messages to send, as bytes: one view each while they wait
  private readonly toServer = new Outgoing();
  private readonly toClient = new Outgoing();
  private readonly requests: TxRequests;
  private state: CarriedState;
  /** Acquiring a connection, or running the pooler's own queries: the client's messages wait. */
  private busy = false;
  private ended = false;
  private paused = false; // the client's socket, while too much of it waits
  private inboxBytes = 0;
  private stopReason: string | undefined;
  /** A pin no probe lifts (a walsender's). */
  private sessionPin: PinReason | undefined;
  private loggedPin = false;
  /** The held connection, where the client's messages go (TxRequests keeps it). */
  readonly statementTarget: StatementTarget;
  /** The client's replies wait for the end of this turn (writeAtTurnEnd). */
  private clientFlushQueued = false;
  /** Load balancing: the transaction runs on the standby, which gets its first request only (then sent). */
  private oneRequest = false;
  private requestSent = false;

  private readonly onClientData = (chunk: Buffer) => {
    this.d.timing.now = this.lastActivity = performance.now();
    this.bytesFromClient += chunk.length;
    this.fromClient.push(chunk);
    this.readClient();
  };
  private readonly onClientEnd = () => this.finish({ kind: 'client-gone' });
  private readonly onServerData = (chunk: Buffer) => {
    this.d.timing.now = this.lastActivity = performance.now();
    this.connSession?.reader.push(chunk);
    this.readServer();
  };
  private readonly onServerClose = () => this.finish(lostOn(this.conn));

  constructor(private readonly d: TxRelayDeps) {
    this.state = d.state;
    this.requests = new TxRequests(this.stream, d.names, d.maxPrepared, this.toServer, this.toClient);
    this.statementTarget = this.requests.target;
    this.stream.timer = d.timing;
  }

  /** The connection held now (a transaction runs, or the client is pinned). */
  get held(): ServerConnection | undefined {
    return this.conn;
  }

  setTap(tap: StatementTap | undefined): void {
    this.requests.tap = tap;
  }

  setBackendLog(log: BackendMessageLog | undefined): void {
    this.requests.backendLog = log;
  }

  clientNotice(b: Buffer): void {
    this.toClient.push(b);
  }

  clientIdleFor(now: number): number {
    return this.stream.executing ? 0 : now - this.lastActivity;
  }

  stop(reason: string): void {
    this.finish({ kind: 'stopped', reason });
  }

  /** Keeps the backend for the whole session, whatever probes find (before start()). */
  pinForSession(reason: PinReason): void {
    this.sessionPin = reason;
    this.pins = [reason];
  }

  /** Ends the session at its transaction's end (now when none runs). */
  stopWhenIdle(reason: string): void {
    this.stopReason = reason;
    if (!this.conn && !this.busy) this.stop(reason);
  }

  /** Starts with the login's connection held: it goes back to the pool at once, unless the client already sent more. */
  start(conn: ServerConnection, extra: Buffer, rest: Buffer): void {
    const c = this.d.client;
    c.on('data', this.onClientData);
    for (const gone of ['end', 'close']) c.on(gone, this.onClientEnd);
    this.attach(conn);
    if (extra.length > 0) c.write(extra);
    if (rest.length > 0) this.fromClient.push(rest);
    c.resume();
    if (this.pins.length === 0) this.release();
    this.readClient();
  }

  private attach(conn: ServerConnection): void {
    this.conn = conn;
    this.connSession = this.d.pool.sessionOf(conn);
    this.requests.heldOn(conn, this.connSession.prepared);
    this.connSession.sink = this.onServerData;
    this.connSession.closed = this.onServerClose;
    // A client that read slowly may have left it paused (flush's backpressure).
    conn.socket.resume();
    this.d.leased(conn);
  }

  private detach(): ServerConnection | undefined {
    const conn = this.conn;
    if (!conn) return undefined;
    this.connSession!.sink = IGNORE;
    this.connSession!.closed = IGNORE;
    this.conn = undefined;
    this.connSession = undefined;
    this.d.leased(undefined);
    return conn;
  }

  /** The transaction is over and nothing pins: the connection to the pool, the child back. */
  private release(): void {
    const conn = this.detach();
    if (!conn) return;
    this.oneRequest = this.requestSent = false;
    this.d.pool.put(conn);
    this.d.leave();
    if (this.stopReason) this.stop(this.stopReason);
  }

  private readClient(): void {
    if (this.ended) return;
    try {
      for (let raw = this.fromClient.nextRaw(); raw; raw = this.fromClient.nextRaw()) {
        this.inbox.push(raw);
        this.inboxBytes += raw.length;
      }
      // Waiting for a child: read on, up to a bound, then let TCP hold the rest.
      if (this.busy && !this.paused && this.inboxBytes + this.fromClient.buffered > MAX_WAITING_BYTES) {
        this.paused = true;
        this.d.client.pause();
      }
    } catch (e) {
      this.finish({ kind: 'protocol-error', message: (e as Error).message });
      return;
    }
    this.pump();
  }

  /** Forwards what the client sent, first getting a connection when none is held (and reads again if too much had waited). */
  private pump(): void {
    if (this.paused && !this.busy) {
      this.paused = false;
      this.d.client.resume();
    }
    while (!this.busy && !this.ended && !this.requestSent && this.inbox.length > 0) {
      const first = this.inbox[0];
      // As the session relay: a pooler command with nothing pending is answered here, connection held or not.
      if (first[0] === FrontendCode.Query && this.requests.expected.length === 0 && this.answerOwnCommand(first))
        return;
      if (!this.conn) {
        if (first[0] === FrontendCode.Terminate) return this.finish({ kind: 'terminate' });
        this.oneRequest = this.d.route(this.inbox, this.requests);
        // The common case takes no turn of the event loop: a child and a connection idle, the state already there.
        const entered = this.d.enterNow();
        const conn = entered ? this.d.openNow() : undefined;
        const sql = conn ? this.carryTo(conn) : undefined;
        if (!conn || sql !== undefined) {
          void this.acquire(entered, conn, sql);
          return;
        }
      }
      const raw = this.inbox.shift()!;
      this.inboxBytes -= raw.length;
      if (!this.requests.clientMessage(asMessage(raw))) return this.finish({ kind: 'terminate' });
      this.requestSent = this.oneRequest && (raw[0] === FrontendCode.Query || raw[0] === FrontendCode.Sync);
    }
    this.flush();
  }

  /** SHOW pool_* and PGPOOL commands are answered without a backend; a failed one ends the session, as in relay.ts. */
  private answerOwnCommand(raw: Buffer): boolean {
    if (!mayBePoolerCommand(raw, 5, raw.length - 1)) return false;
    const run = this.d.poolerCommand(cstringAt(raw, 5)[0]);
    if (!run) return false;
    this.inbox.shift();
    this.inboxBytes -= raw.length;
    showWhole(this.requests.tap, raw, 'answered');
    this.busy = true;
    this.stream.answeringCommand = true;
    void Promise.resolve()
      .then(run)
      .then(
        (bytes) => {
          this.writePending();
          this.d.client.write(bytes);
        },
        (e: Error) => this.finish({ kind: 'protocol-error', message: `admin command failed: ${e.message}` }),
      )
      .finally(() => {
        this.stream.answeringCommand = false;
        this.busy = false;
        this.pump();
      });
    return true;
  }

  /** Attaches `conn` for the client; the statements that give it the client's state, undefined when it has it (then recorded). */
  private carryTo(conn: ServerConnection): string | undefined {
    this.attach(conn);
    const session = this.connSession!;
    const sql = session.state === this.state ? undefined : restoreSql(session.state, this.state);
    if (sql === undefined) this.d.pool.carries(conn, this.state);
    return sql;
  }

  /**
   * What acquiring had to wait for: a child (unless `entered`), a connection (unless `held`:
   * then attached, and `sql` what brings it to the client's state), the restore.
   */
  private async acquire(entered: boolean, held: ServerConnection | undefined, sql?: string): Promise<void> {
    let conn = held;
    this.busy = true;
    try {
      if (!entered) await this.d.enter();
      if (this.ended) return this.d.leave();
      if (!conn) {
        try {
          conn = this.d.openNow() ?? (await this.d.open());
        } catch (e) {
          this.d.leave();
          throw e;
        }
        if (this.ended) {
          this.d.pool.put(conn);
          return this.d.leave();
        }
      }
      if (!held) sql = this.carryTo(conn);
      if (sql) {
        await this.ownQuery(conn, sql);
        this.d.pool.carries(conn, this.state);
      }
    } catch (e) {
      if (this.ended) return;
      const err = e instanceof PoolerError ? e : poolerError('RESTORE_FAILED', { detail: (e as Error).message });
      this.d.log().info({ detail: err.detail }, err.message);
      this.writePending();
      this.d.client.write(errorResponse(err));
      this.finish({ kind: 'stopped', reason: err.code });
      return;
    } finally {
      this.busy = false;
    }
    this.pump();
  }

  /** A query of the pooler's own on the held connection, its replies kept from the client. */
  private async ownQuery(conn: ServerConnection, sql: string, onStatus?: StatusSink): Promise<Rows> {
    const session = this.connSession!;
    session.sink = IGNORE;
    try {
      return await simpleQuery(conn, sql, OWN_QUERY_TIMEOUT_MS, onStatus);
    } finally {
      if (this.conn === conn) session.sink = this.onServerData;
    }
  }

  /** The backend's bytes now, the client's at the end of the turn. */
  private flush(): void {
    const conn = this.conn;
    if (conn) flushTo(this.toServer, conn.socket, this.d.client);
    if (this.toClient.empty || this.clientFlushQueued) return;
    this.clientFlushQueued = true;
    writeAtTurnEnd(this);
  }

  /** Writes the client's replies (at the end of the turn, or now before writing to it directly). */
  writePending(): void {
    this.clientFlushQueued = false;
    this.bytesToClient += this.toClient.bytes;
    flushTo(this.toClient, this.d.client, this.conn?.socket);
  }

  private readServer(): void {
    if (this.ended || !this.conn) return;
    let m: Message | undefined;
    try {
      const reader = this.connSession!.reader;
      while ((m = reader.next())) {
        if (this.requests.serverMessage(m, !this.oneRequest && this.inbox.length > 0)) {
          if (this.requests.probeWanted || this.d.learning) void this.probeThenEnd(m.raw);
          else this.transactionOver(m.raw);
          return;
        }
      }
    } catch (e) {
      this.finish(lostOn(this.conn, (e as Error).message));
      return;
    }
    this.flush();
  }

  /**
   * The transaction's last ReadyForQuery goes out with whatever precedes it (the reply, a
   * probe's ParameterStatus or 0A000), in one write; then the connection goes back unless pinned.
   */
  private transactionOver(ready: Buffer): void {
    this.toClient.push(ready);
    this.flush();
    if (this.pins.length === 0) this.release();
    this.pump();
  }

  /** The state may have changed (probe it), or a read's facts are asked; then the transaction ends. */
  private async probeThenEnd(ready: Buffer): Promise<void> {
    const conn = this.conn!;
    this.flush();
    this.busy = true;
    try {
      if (this.d.learning) await this.d.learn(async (q) => (await this.ownQuery(conn, q))[0] ?? []);
      if (this.requests.probeWanted) await this.probe(conn);
    } catch (e) {
      this.pins = ['state unknown'];
      this.d.log().warn({ backendPid: conn.pid, why: (e as Error).message }, 'session state unknown: client pinned');
    } finally {
      this.busy = false;
    }
    if (!this.ended) this.transactionOver(ready);
  }

  private async probe(conn: ServerConnection): Promise<void> {
    this.requests.probeWanted = false;
    const r = await probeSession(
      (sql, onStatus) => this.ownQuery(conn, sql, onStatus),
      this.requests.customNames ?? [],
      this.d.pinPolicy(),
      this.d.startup,
      (name, value) => this.toClient.push(parameterStatus(name, value)),
    );
    if (r.refused) this.toClient.push(r.refused);
    this.state = r.state;
    this.d.pool.carries(conn, this.state);
    this.loggedPin ||= logPinned(this.d.log(), conn.pid, r.pins);
    this.pins = this.sessionPin ? [this.sessionPin, ...r.pins] : r.pins;
  }

  /** Ends relaying once; the session then calls settle(). */
  private finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = true;
    const c = this.d.client;
    c.off('data', this.onClientData);
    for (const gone of ['end', 'close']) c.off(gone, this.onClientEnd);
    this.flush();
    this.writePending();
    this.d.onEnd(end);
  }

  /** After the end: the connection still held, if any, for the session to reset or close. */
  takeHeld(): ServerConnection | undefined {
    return this.detach();
  }
}
