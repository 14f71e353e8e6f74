// One node's connection in a routed session (relay/routed-relay.ts): writing the client's
// messages with the protocol state the reset needs later, the messages the relay injects
// (a Parse again, a Close of a stale name, a Sync when a cycle moves to the primary) and
// whose replies it drops, and reading replies up to ReadyForQuery.
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import type { ServerConnection } from '../../backend/server-connection.js';
import { dataRow } from '../../backend/simple-query.js';
import { BackendCode, FrontendCode } from '../../protocol/codes.js';
import type { BackendGone } from './relay.js';
import { Outgoing, writeAtTurnEnd, type PendingWriter } from './outgoing.js';
import { bindFields, isExtended, parseFields, querySql, targetFields } from '../../protocol/frontend-messages.js';
import { errorFields, MessageReader, type Message } from '../../protocol/message-reader.js';
import { StreamState } from '../../protocol/stream-state.js';
import type { Classified } from '../routing/classifier.js';
import type { PreparedStatements } from '../routing/prepared-statements.js';

/** A Sync, made once (written, never changed). */
const SYNC = serialize.sync();

const PARSE_COMPLETE = 0x31;
/** ReadyForQuery's bytes: type, length 5, status. */
const READY_LENGTH = 6;
const PLAIN_BEGIN = 'BEGIN';
const CLOSE_COMPLETE = 0x33;

/** A callback that takes nothing in (a drain's replies nobody reads, a drain not set up). */
export const NOTHING = (): void => {};

/** The leg's replies stopped for a cycle that moved on to another node. */
export const MOVED = -1;

export class LegGoneError extends Error {
  constructor(
    why: string,
    /** What the relay ends with. */
    readonly end: BackendGone,
  ) {
    super(why);
  }
}

/**
 * Writes to a socket so that what one turn of the event loop writes (promise
 * continuations included, such as the ReadyForQuery the relay writes after the replies)
 * goes out at the turn's end in one system call, views that lie back to back in one read
 * chunk (a cycle's replies, the client's Parse … Sync) joined into one (Outgoing).
 */
export class BatchedWriter implements PendingWriter {
  private queued = false;
  private readonly out = new Outgoing();

  constructor(private readonly socket: net.Socket) {}

  /** False when the socket's buffer is full (the caller pauses its sources). */
  write(b: Buffer): boolean {
    this.out.push(b);
    if (!this.queued) {
      this.queued = true;
      writeAtTurnEnd(this);
    }
    return !this.socket.writableNeedDrain;
  }

  /** At the turn's end, or now before the socket is written to by someone else. */
  writePending(): void {
    this.queued = false;
    if (!this.out.empty) this.out.writeTo(this.socket);
  }
}

/**
 * What PostgreSQL sends between requests, forwarded as it comes (NOTIFY, notices,
 * ParameterStatus, and the FATAL it sends before it closes the connection, 57P01 say).
 */
const UNSOLICITED: ReadonlySet<number> = new Set([
  0x41,
  BackendCode.NoticeResponse,
  BackendCode.ParameterStatus,
  BackendCode.ErrorResponse,
]);

export class Leg {
  private readonly reader = new MessageReader();
  private readonly writer: BatchedWriter;
  /** Its protocol state, for the reset after the client leaves. */
  readonly stream = new StreamState();
  /** Replies to messages the relay injected, in order, to drop. */
  private swallow: number[] = [];
  /**
   * A drain takes the messages (between requests nobody does): each one through `each`,
   * and with `pass` the whole messages that need no look (neither an error, nor COPY IN,
   * nor ReadyForQuery) as one view of the chunk they came in. Fields, not a closure set
   * per request.
   */
  private draining = false;
  private each: (m: Message) => void = NOTHING;
  private pass: ((run: Buffer) => void) | undefined;
  private resolveDrain: (status: number) => void = NOTHING;
  private rejectDrain: (e: Error) => void = NOTHING;
  /** The last drain's ReadyForQuery as it came (the relay forwards it when its status is the client's). */
  private lastReady: Buffer | undefined;
  private gone: Error | undefined;
  /** The type of the last message read (an ErrorResponse before EOF said why). */
  private lastType = 0;
  /** Replies that came before their drain started (both nodes are written before either is read). */
  private readonly backlog: Message[] = [];
  /** Sees the type of every message PostgreSQL sends (log_backend_messages); unset while that is off. */
  seen: ((type: number) => void) | undefined;

  constructor(
    readonly conn: ServerConnection,
    /** A notification, notice, ParameterStatus or closing FATAL PostgreSQL sent between requests. */
    private readonly unsolicited: (m: Message) => void,
    /** The connection failed between requests. */
    private readonly lost: (end: BackendGone) => void,
  ) {
    const socket = conn.socket;
    this.writer = new BatchedWriter(socket);
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.resume();
  }

  /** Every message passes here, as it arrives: to the drain that waits for it, or, between requests, to the client. */
  private readonly onData = (chunk: Buffer) => {
    if (this.draining && this.pass && this.reader.buffered === 0 && this.swallow.length === 0) {
      const at = this.passRun(chunk, this.pass);
      if (at < 0) return;
      if (at === chunk.length) return;
      // The common end of a reply: the chunk's last message is the ReadyForQuery, taken as it lies.
      if (
        chunk.length - at === READY_LENGTH &&
        chunk[at] === BackendCode.ReadyForQuery &&
        chunk.readUInt32BE(at + 1) === 5
      ) {
        this.lastType = BackendCode.ReadyForQuery;
        this.seen?.(BackendCode.ReadyForQuery);
        return this.readyForQuery(at === 0 ? chunk : chunk.subarray(at));
      }
      chunk = chunk.subarray(at);
    }
    this.reader.push(chunk);
    for (;;) {
      let m: Message | undefined;
      try {
        m = this.reader.next();
      } catch (e) {
        return this.fail((e as Error).message, { garbled: (e as Error).message });
      }
      if (!m) return;
      this.lastType = m.type;
      this.seen?.(m.type);
      if (this.draining) this.take(m);
      else if (this.stream.pending > 0 || this.swallow.length > 0) this.backlog.push(m);
      else if (UNSOLICITED.has(m.type)) this.unsolicited(m);
      else {
        const why = `unexpected message '${String.fromCharCode(m.type)}' between requests`;
        return this.fail(why, { garbled: why });
      }
    }
  };

  /**
   * Passes the chunk's leading whole messages that need no look on as one view; returns
   * where the rest starts (a message to look at, or a partial one), -1 after failing the leg
   * for a length below 4.
   */
  private passRun(chunk: Buffer, pass: (run: Buffer) => void): number {
    const n = chunk.length;
    let i = 0;
    while (i + 5 <= n) {
      const t = chunk[i];
      if (t === BackendCode.ErrorResponse || t === BackendCode.CopyInResponse || t === BackendCode.ReadyForQuery) break;
      const len = chunk.readUInt32BE(i + 1);
      if (len < 4) {
        const why = `invalid message length ${len} for message type "${String.fromCharCode(t)}"`;
        this.fail(why, { garbled: why });
        return -1;
      }
      if (i + 1 + len > n) break;
      this.lastType = t;
      this.seen?.(t);
      i += 1 + len;
    }
    if (i > 0) pass(i === n ? chunk : chunk.subarray(0, i));
    return i;
  }

  private readonly onClose = () => this.fail('connection closed');
  private readonly onError = (e: NodeJS.ErrnoException) => this.fail(e.message, { socketError: e.code ?? e.message });

  private fail(why: string, cause: Pick<BackendGone, 'socketError' | 'garbled'> = {}): void {
    if (this.gone) return;
    const end: BackendGone = {
      kind: 'backend-gone',
      node: this.node,
      ...cause,
      saidWhy: this.lastType === BackendCode.ErrorResponse,
    };
    this.gone = new LegGoneError(why, end);
    if (this.draining) this.failDrain(this.gone);
    else this.lost(end);
  }

  get node(): number {
    return this.conn.address.node;
  }

  /** Writes a client message, counting what PostgreSQL will answer with ReadyForQuery. */
  write(m: Buffer): void {
    this.writer.write(m);
    const t = m[0];
    if (t === FrontendCode.Query || t === FrontendCode.FunctionCall) this.stream.requestSent();
    else if (t === FrontendCode.Sync) {
      this.stream.requestSent();
      this.stream.unsynced = false;
    } else if (isExtended(t)) this.stream.unsynced = true;
  }

  /** A statement parsed again here for a Bind; its ParseComplete is dropped. */
  injectParse(parse: Buffer): void {
    this.writer.write(parse);
    this.swallow.push(PARSE_COMPLETE);
  }

  /** Closes an older version of a name the client closed while its Close went elsewhere. */
  injectClose(name: string): void {
    this.writer.write(serialize.close({ type: 'S', name }));
    this.swallow.push(CLOSE_COMPLETE);
  }

  /** Ends this leg's part of a cycle that moves to another node; its ReadyForQuery is dropped. */
  injectSync(): void {
    this.writeSync();
    this.swallow.push(BackendCode.ReadyForQuery);
  }

  /** A Sync of the relay's own whose ReadyForQuery the next drain ends on. */
  writeSync(): void {
    this.write(SYNC);
  }

  /** Nothing injected is still unanswered. */
  get settled(): boolean {
    return this.swallow.length === 0;
  }

  /**
   * Reads replies up to ReadyForQuery, dropping the injected ones; returns its status, or
   * MOVED when the dropped one was the ReadyForQuery of an injected Sync.
   */
  drain(each: (m: Message) => void, pass?: (run: Buffer) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => this.drainThen(each, pass, resolve, reject));
  }

  /**
   * drain() without a promise: `done` gets the status, `failed` the leg's end (either may
   * be called before this returns). The one-node cycle's path (routed-relay.ts): no promise
   * or microtask per request.
   */
  drainThen(
    each: (m: Message) => void,
    pass: ((run: Buffer) => void) | undefined,
    done: (status: number) => void,
    failed: (e: Error) => void,
  ): void {
    this.lastReady = undefined;
    this.resolveDrain = done;
    this.rejectDrain = failed;
    this.draining = true;
    this.each = each;
    this.pass = pass;
    // What came early first, then (unless the leg is gone) the pump feeds the rest.
    while (this.draining && this.backlog.length > 0) this.take(this.backlog.shift()!);
    if (this.draining && this.gone) this.failDrain(this.gone);
  }

  /** The last drain's ReadyForQuery, once: an idle session keeps no view of the chunk it came in. */
  takeReady(): Buffer | undefined {
    const r = this.lastReady;
    this.lastReady = undefined;
    return r;
  }

  private endDrain(): void {
    this.draining = false;
    this.each = NOTHING;
    this.pass = undefined;
  }

  private failDrain(e: Error): void {
    this.endDrain();
    this.rejectDrain(e);
  }

  private done(status: number): void {
    this.endDrain();
    this.resolveDrain(status);
  }

  private take(m: Message): void {
    if (this.swallow.length > 0 && m.type === this.swallow[0]) {
      this.swallow.shift();
      if (m.type !== BackendCode.ReadyForQuery) return;
      this.stream.readyReceived(m.body[0]);
      this.stream.inCopyIn = false;
      return this.done(MOVED);
    }
    // After an error PostgreSQL skips to the Sync: injected Parses and Closes get no reply.
    if (m.type === BackendCode.ErrorResponse)
      this.swallow = this.swallow.filter((t) => t === BackendCode.ReadyForQuery);
    if (m.type === BackendCode.CopyInResponse) this.stream.inCopyIn = true;
    if (m.type === BackendCode.ReadyForQuery) return this.readyForQuery(m.raw);
    this.each(m);
  }

  /** The drain's ReadyForQuery (`raw`, header included). */
  private readyForQuery(raw: Buffer): void {
    const status = raw[5];
    this.stream.readyReceived(status);
    this.stream.inCopyIn = false;
    // Only a relay's drain (one that passes replies on) may forward it; its own queries' stay here.
    if (this.pass) this.lastReady = raw;
    this.done(status);
  }

  /** A query of the relay's own between cycles: its first row; throws with PostgreSQL's message. */
  async query(sql: string): Promise<Array<string | null>> {
    this.write(serialize.query(sql));
    let row: Array<string | null> = [];
    let error: string | undefined;
    await this.drain((m) => {
      if (m.type === BackendCode.DataRow) row = dataRow(m.body);
      else if (m.type === BackendCode.ErrorResponse) error = errorFields(m.body).get('M');
    });
    if (error !== undefined) throw new Error(error);
    return row;
  }

  /** Stops reading; false when bytes or injected replies are left over (the connection cannot be reset then). */
  detach(): boolean {
    const socket = this.conn.socket;
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
    socket.pause();
    // The reset writes next: nothing of this session's may follow it.
    this.writer.writePending();
    return this.reader.rest().length === 0 && this.settled && !this.draining && this.backlog.length === 0 && !this.gone;
  }
}

/**
 * Before a client message goes to `leg`: a Parse is recorded there (closing an older
 * version of its name first), a Bind's statement is parsed there when it lives elsewhere,
 * a Close forgets the name. `also`: the same message went to the primary first (both nodes).
 */
export function placeStatement(
  prepared: PreparedStatements,
  classify: (sql: string) => Classified,
  leg: Leg,
  m: Buffer,
  also: boolean,
): void {
  const t = m[0];
  if (t === FrontendCode.Parse) {
    const { name, sql } = parseFields(m);
    if (also) prepared.copiedTo(name, leg.node);
    else {
      const c = classify(sql);
      if (prepared.parsed(name, m, c, sql, leg.node)) leg.injectClose(name);
    }
  } else if (t === FrontendCode.Bind) {
    const { portal, statement } = bindFields(m);
    const e = prepared.get(statement);
    if (e && !e.nodes.has(leg.node)) {
      if (prepared.takeStale(leg.node, statement)) leg.injectClose(statement);
      leg.injectParse(e.parse);
      prepared.copiedTo(statement, leg.node);
    }
    prepared.bound(portal, leg.node, e?.cls.stat);
  } else if (t === FrontendCode.Close && !also) {
    const { kind, name } = targetFields(m);
    if (kind === 'S') prepared.closed(name, leg.node);
  }
}

/** BEGIN READ WRITE / ISOLATION LEVEL SERIALIZABLE reach a standby as a plain BEGIN (pgpool), by Query or Parse. */
export function forStandby(m: Buffer, classify: (sql: string) => Classified): Buffer {
  if (m[0] === FrontendCode.Query)
    return classify(querySql(m)).cls.plainBeginForStandby ? serialize.query(PLAIN_BEGIN) : m;
  if (m[0] !== FrontendCode.Parse) return m;
  const { name, sql } = parseFields(m);
  return classify(sql).cls.plainBeginForStandby ? serialize.parse({ name, text: PLAIN_BEGIN, types: [] }) : m;
}
