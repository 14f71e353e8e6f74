// Transaction pooling's translation of one client's requests (docs/transaction-pooling.md#prepared-statements):
// the client's named statements renamed to the worker's shared server names and prepared
// on the held connection where missing, the replies owed in order (those the backend does
// not send made here, in their place), and the tags and texts that call for a probe.
import { customSettingNames, scanSessionWords, tagChangesSession } from '../../policy/session-state.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { BackendCode, FrontendCode } from '../../protocol/codes.js';
import { poolerError, type PoolerError } from '../../protocol/errors.js';
import { tapWhole } from '../../protocol/header-scanner.js';
import type { Message } from '../../protocol/message-reader.js';
import type { StreamState } from '../../protocol/stream-state.js';
import { TxStatus } from '../../protocol/tx-status.js';
import { Expected, type Entry } from './tx-expected.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { BackendMessageLog } from '../relay/backend-message-log.js';
import type { StatementTap, StatementTarget } from '../relay/client-message-log.js';
import type { Outgoing } from '../relay/outgoing.js';
import { bindMessage, cstringAt, parseMessage, statementMessage, type StatementNames } from './tx-messages.js';

/** NotificationResponse: LISTEN's, any time. */
const NOTIFICATION = 0x41;
const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);
const CLOSE_COMPLETE = Buffer.from([0x33, 0, 0, 0, 4]);
const MADE_PARSE: Entry = { kind: 'made', bytes: PARSE_COMPLETE };
const MADE_CLOSE: Entry = { kind: 'made', bytes: CLOSE_COMPLETE };
/** The entries without a payload, made once (the hot path allocates none per message). */
const ENTRY = {
  query: { kind: 'query' },
  sync: { kind: 'sync' },
  parse: { kind: 'parse' },
  bind: { kind: 'bind' },
  describeStatement: { kind: 'describeStatement' },
  describePortal: { kind: 'describePortal' },
  execute: { kind: 'execute' },
  close: { kind: 'close' },
} as const satisfies Record<string, Entry>;

/** A client's named statement: its server name and the Parse body after the name. */
interface ClientStatement {
  readonly server: string;
  readonly rest: Buffer;
}

/** Tags of the common statements, which never change session state: not decoded (three letters say). */
const three = (s: string): number => (s.charCodeAt(0) << 16) | (s.charCodeAt(1) << 8) | s.charCodeAt(2);
const PLAIN_TAGS = new Set(['SEL', 'INS', 'UPD', 'DEL', 'COM', 'BEG', 'FET', 'MOV', 'COP', 'MER', 'ROL'].map(three));
const mayBeStateTag = (body: Buffer): boolean =>
  body.length < 3 || !PLAIN_TAGS.has((body[0] << 16) | (body[1] << 8) | body[2]);

export class TxRequests {
  readonly expected = new Expected();
  /** The client's named statements; made at its first (an idle client should cost little). */
  private statements: Map<string, ClientStatement> | undefined;
  /** Custom parameters the client's statements named (the probe asks for each); made at the first. */
  customNames: Set<string> | undefined;
  /** A tag or a text said the session state may have changed: probe at the transaction's end. */
  probeWanted = false;
  /** After an error made here: the client's messages up to Sync are dropped, as PostgreSQL skips them. */
  private skipping = false;
  /** The held connection's prepared statements (server names, least recently used first). */
  prepared!: Map<string, true>;
  /** The held connection: where the statement log says the client's messages go. */
  readonly target: StatementTarget = { node: 0, pid: 0 };
  /** Sees each client message as it goes to the backend (statement logging), when set. */
  tap: StatementTap | undefined;
  /** Sees the type of each message from the backend (log_backend_messages), when set. */
  backendLog: BackendMessageLog | undefined;

  constructor(
    private readonly stream: StreamState,
    private readonly names: StatementNames,
    private readonly maxPrepared: number,
    /** What goes to the backend and to the client next (the relay writes and empties them). */
    private readonly toServer: Outgoing,
    private readonly toClient: Outgoing,
  ) {}

  /** The requests go to `conn` now, whose prepared statements are `prepared`. */
  heldOn(conn: ServerConnection, prepared: Map<string, true>): void {
    this.prepared = prepared;
    this.target.node = conn.address.node;
    this.target.pid = conn.pid;
  }

  private send(b: Buffer): void {
    this.toServer.push(b);
  }

  /** Translates one client message onto the held connection; false for Terminate. */
  clientMessage(m: Message): boolean {
    if (this.tap) tapWhole(this.tap, m.raw);
    const t = m.type;
    if (this.skipping && t !== FrontendCode.Sync) return true;
    const q = this.expected;
    switch (t) {
      case FrontendCode.Query:
      case FrontendCode.FunctionCall:
        if (t === FrontendCode.Query) this.watchText(m.body, 0);
        this.send(m.raw);
        q.push(ENTRY.query);
        this.stream.requestSent();
        break;
      case FrontendCode.Sync:
        this.skipping = false;
        this.send(m.raw);
        q.push(ENTRY.sync);
        this.stream.unsynced = false;
        this.stream.requestSent();
        break;
      case FrontendCode.Parse:
        this.stream.unsynced = true;
        this.parse(m);
        break;
      case FrontendCode.Bind: {
        this.stream.unsynced = true;
        const [, at] = cstringAt(m.body, 0);
        const [name, after] = cstringAt(m.body, at);
        if (name === '') this.send(m.raw);
        else {
          const server = this.serverStatement(name);
          if (server === undefined) break;
          this.send(bindMessage(cstringAt(m.body, 0)[0], server, m.body.subarray(after)));
        }
        q.push(ENTRY.bind);
        break;
      }
      case FrontendCode.Describe:
      case FrontendCode.Close: {
        this.stream.unsynced = true;
        const isStatement = m.body[0] === 0x53;
        const name = cstringAt(m.body, 1)[0];
        if (!isStatement || name === '') {
          this.send(m.raw);
          q.push(t === FrontendCode.Close ? ENTRY.close : isStatement ? ENTRY.describeStatement : ENTRY.describePortal);
        } else if (t === FrontendCode.Close) {
          // The server statement may serve other clients: only the client's name goes.
          this.statements?.delete(name);
          q.push(MADE_CLOSE);
        } else {
          const server = this.serverStatement(name);
          if (server === undefined) break;
          this.send(statementMessage(FrontendCode.Describe, server));
          q.push(ENTRY.describeStatement);
        }
        break;
      }
      case FrontendCode.Execute:
        this.stream.unsynced = true;
        this.send(m.raw);
        q.push(ENTRY.execute);
        break;
      case FrontendCode.Terminate:
        return false;
      default:
        // Flush, CopyData, CopyDone, CopyFail: nothing comes back for them alone.
        this.send(m.raw);
    }
    this.emitMade();
    return true;
  }

  /** Whether the query text at `from` in `body` may change session state (its bytes scanned, decoded only when it may name a custom parameter). */
  private watchText(body: Buffer, from: number): void {
    const end = body.indexOf(0, from);
    const to = end < 0 ? body.length : end;
    const seen = scanSessionWords(body, from, to);
    if (seen.state) this.probeWanted = true;
    if (seen.custom)
      for (const n of customSettingNames(body.toString('utf8', from, to))) (this.customNames ??= new Set()).add(n);
  }

  private parse(m: Message): void {
    const [name, at] = cstringAt(m.body, 0);
    const rest = m.body.subarray(at);
    this.watchText(rest, 0);
    if (name === '') {
      this.send(m.raw);
      this.expected.push(ENTRY.parse);
      return;
    }
    if (this.statements?.has(name)) return this.madeError(poolerError('STATEMENT_EXISTS', { name }));
    const server = this.names.of(rest);
    (this.statements ??= new Map()).set(name, { server, rest });
    this.prepare(server, rest, name);
  }

  /** The query text of the client's named statement (routing reads it). */
  statementText(name: string): string | undefined {
    const s = this.statements?.get(name);
    return s && cstringAt(s.rest, 0)[0];
  }

  /** The server name of the client's statement, prepared on this connection; undefined (and an error made) when the client has no such statement. */
  private serverStatement(name: string): string | undefined {
    const s = this.statements?.get(name);
    if (!s) {
      this.madeError(poolerError('STATEMENT_MISSING', { name }));
      return undefined;
    }
    this.prepare(s.server, s.rest);
    return s.server;
  }

  /** Makes sure `server` is prepared on the held connection; `defines` is the client's name when the client's own Parse asks. */
  private prepare(server: string, rest: Buffer, defines?: string): void {
    const prepared = this.prepared;
    if (prepared.delete(server)) {
      prepared.set(server, true);
      if (defines !== undefined) this.expected.push(MADE_PARSE);
      return;
    }
    while (prepared.size >= this.maxPrepared) {
      const oldest = prepared.keys().next().value!;
      prepared.delete(oldest);
      this.send(statementMessage(FrontendCode.Close, oldest));
      this.expected.push({ kind: 'hiddenClose', server: oldest });
    }
    this.send(parseMessage(server, rest));
    prepared.set(server, true);
    this.expected.push(defines !== undefined ? { kind: 'parse', server, defines } : { kind: 'hiddenParse', server });
  }

  private madeError(e: PoolerError): void {
    this.expected.push({ kind: 'made', bytes: errorResponse(e) });
    this.skipping = true;
  }

  /** Replies made here that are next in the stream go to the client now. */
  private emitMade(): void {
    for (let e = this.expected.head; e?.kind === 'made'; e = this.expected.head) {
      this.toClient.push(e.bytes);
      this.expected.shift();
    }
  }

  /** Handles one backend message; true when it is the ReadyForQuery that ends the transaction (not yet sent). */
  serverMessage(m: Message, clientWaiting: boolean): boolean {
    const t = m.type;
    this.backendLog?.seen(this.target.node, t);
    const q = this.expected;
    this.emitMade();
    const head = q.head;
    if (t === BackendCode.ReadyForQuery) {
      this.stream.inCopyIn = false;
      if (head) q.shift();
      this.stream.readyReceived(m.body[0]);
      this.emitMade();
      const over = q.length === 0 && m.body[0] === TxStatus.Idle && !this.stream.unsynced && !clientWaiting;
      if (over) return true;
      this.toClient.push(m.raw);
      return false;
    }
    if (t === BackendCode.CopyInResponse) this.stream.inCopyIn = true;
    if (t === BackendCode.CommandComplete && mayBeStateTag(m.body)) this.tagSeen(cstringAt(m.body, 0)[0]);
    if (!head || t === BackendCode.NoticeResponse || t === NOTIFICATION || t === BackendCode.ParameterStatus) {
      this.toClient.push(m.raw);
      return false;
    }
    if (t === BackendCode.ErrorResponse && head.kind !== 'query' && head.kind !== 'sync') {
      this.toClient.push(m.raw);
      q.failed(this.prepared, this.statements);
      return false;
    }
    if (q.answers(head, t)) q.shift();
    if (head.kind !== 'hiddenParse' && head.kind !== 'hiddenClose') this.toClient.push(m.raw);
    this.emitMade();
    return false;
  }

  private tagSeen(tag: string): void {
    if (tagChangesSession(tag)) this.probeWanted = true;
    if (tag === 'DISCARD ALL' || tag === 'DEALLOCATE ALL') {
      // Every prepared statement of the backend is gone, the client's and the shared ones.
      this.statements = undefined;
      this.prepared.clear();
    }
  }
}
