// log_statement, log_per_node_statement, notice_per_node_statement and
// log_client_messages: the client's messages as pgpool logs them (and, for
// notice_per_node_statement, tells the client where each went). It is the relay's client
// scanner's MessageTap, set only while one of them is on, and keeps the bodies it needs to
// describe. This path allocates; the relay's own path is unchanged.
import type { Logger } from '../../logging/logger.js';
import { noticeResponse } from '../../protocol/backend-write.js';
import { FrontendCode } from '../../protocol/codes.js';
import { tapWhole, type MessageTap } from '../../protocol/header-scanner.js';

export interface MessageLogSwitches {
  statement: boolean;
  perNodeStatement: boolean;
  /** notice_per_node_statement, when client_min_messages lets a NOTICE through. */
  perNodeNotice: boolean;
  /** client_min_messages lets LOG through: the client gets these lines too, as pgpool sends them. */
  clientLog: boolean;
  clientMessages: boolean;
}

/**
 * How the message a relay shows went: to a node (`sent`); to another node as well, shown
 * again for it (`again`: a statement pgpool sends to both, only the per-node lines and
 * notices come of it); answered by the pooler itself, to no node (`answered`: no per-node
 * line, as pgpool's PGPOOL and SHOW pool_* commands have none).
 */
export type ShownAs = 'sent' | 'again' | 'answered';

/** The tap a relay shows the client's messages to. */
export interface StatementTap extends MessageTap {
  /** How the messages shown now went; a relay sets it back to `sent` after. */
  shownAs: ShownAs;
}

/** Longest body kept for a message's text; longer ones are logged cut, marked with "...". */
const MAX_KEPT = 1 << 20;
/** Message types whose body the log needs (Query, Parse, Bind, Execute, Describe, Close, FunctionCall). */
const NEEDS_BODY: ReadonlySet<number> = new Set([
  FrontendCode.Query,
  FrontendCode.Parse,
  FrontendCode.Bind,
  FrontendCode.Execute,
  FrontendCode.Describe,
  FrontendCode.Close,
  FrontendCode.FunctionCall,
]);
const COPY_DATA = FrontendCode.CopyData;

/** Shows the whole message `m` to `tap` (when there is one) as having gone `shownAs`. */
export function showWhole(tap: StatementTap | undefined, m: Buffer, shownAs: ShownAs): void {
  if (!tap) return;
  tap.shownAs = shownAs;
  tapWhole(tap, m);
  tap.shownAs = 'sent';
}

/** pgpool's log_per_node_statement line. */
export const perNodeStatement = (node: number, backendPid: number, text: string): string =>
  `DB node id: ${node} backend pid: ${backendPid} statement: ${text}`;

/** pgpool's notice_per_node_statement message. */
export const perNodeNotice = (node: number, text: string): string => `DB node id: ${node} statement: ${text}`;

/** PostgreSQL's order of levels for what goes to clients (elog.h): log and info rank below notice. */
const CLIENT_RANK: Readonly<Record<string, number>> = {
  debug5: 10,
  debug4: 11,
  debug3: 12,
  debug2: 13,
  debug: 13,
  debug1: 14,
  log: 15,
  info: 17,
  notice: 18,
  warning: 19,
  error: 20,
  fatal: 22,
  panic: 23,
};

/** Whether client_min_messages lets a message of the pooler's at `level` reach the client. */
export const clientGets = (level: 'log' | 'notice', clientMinMessages: string): boolean =>
  CLIENT_RANK[level] >= (CLIENT_RANK[clientMinMessages.toLowerCase()] ?? CLIENT_RANK.notice);

/** The backend the next messages go to (a routed session changes it per statement). */
export interface StatementTarget {
  node: number;
  pid: number;
}

const SIMPLE: Readonly<Record<number, string>> = {
  0x53: 'Sync', // S
  0x48: 'Flush', // H
  0x58: 'Terminate', // X
  0x63: 'CopyDone', // c
  0x66: 'CopyFail', // f
};

export class ClientMessageLog implements StatementTap {
  shownAs: ShownAs = 'sent';
  private type = 0;
  private kept: Buffer[] = [];
  private keptLength = 0;
  private copyData = 0;
  /** Prepared statements' and portals' texts, for logging Execute. */
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string>();

  constructor(
    public log: Logger,
    public switches: MessageLogSwitches,
    /** Where the messages go: log_per_node_statement names it. */
    public target: StatementTarget,
    /** Writes a NoticeResponse to the client, in order with the replies relayed to it. */
    private readonly notice: (b: Buffer) => void,
  ) {}

  start(type: number): void {
    this.type = type;
    this.kept = [];
    this.keptLength = 0;
  }

  body(chunk: Buffer, from: number, to: number): void {
    if (!NEEDS_BODY.has(this.type) || this.keptLength >= MAX_KEPT) return;
    const part = chunk.subarray(from, Math.min(to, from + MAX_KEPT - this.keptLength));
    this.kept.push(Buffer.from(part)); // a copy: the chunk's memory is reused by the socket
    this.keptLength += part.length;
  }

  end(): void {
    this.message(Buffer.concat(this.kept, this.keptLength), this.keptLength >= MAX_KEPT);
    this.kept = [];
  }

  private message(body: Buffer, cut: boolean): void {
    const type = this.type;
    if (type === COPY_DATA) {
      if (this.shownAs !== 'again') this.copyData++;
      return;
    }
    if (this.copyData > 0 && this.shownAs !== 'again') {
      if (this.switches.clientMessages) this.line('CopyData message from frontend.', `count: ${this.copyData}`);
      this.copyData = 0;
    }
    const r = new BodyReader(body, cut);
    switch (type) {
      case FrontendCode.Query: {
        // Query
        const query = r.str();
        this.client('Query', `query: "${query}"`);
        this.statement(query, query);
        return;
      }
      case FrontendCode.Parse: {
        // Parse
        const name = r.str();
        const query = r.str();
        this.client('Parse', `statement: "${name}", query: "${query}"`);
        this.statements.set(name, query);
        this.perNode(`Parse: ${query}`);
        return;
      }
      case FrontendCode.Bind: {
        // Bind
        const portal = r.str();
        const name = r.str();
        this.client('Bind', `portal: "${portal}", statement: "${name}"`);
        this.portals.set(portal, this.statements.get(name) ?? `<statement "${name}" prepared before logging began>`);
        this.perNode('B message');
        return;
      }
      case FrontendCode.Execute: {
        // Execute
        const portal = r.str();
        this.client('Execute', `portal: "${portal}"`);
        const text = this.portals.get(portal) ?? `<portal "${portal}" bound before logging began>`;
        this.statement(text, `Execute: ${text}`);
        return;
      }
      case FrontendCode.Describe: // Describe
      case FrontendCode.Close: {
        // Close
        const kind = r.byte();
        const name = r.str();
        const what = kind === 0x53 ? 'statement' : 'portal';
        this.client(type === FrontendCode.Describe ? 'Describe' : 'Close', `${what}: "${name}"`);
        if (type === FrontendCode.Close) (kind === 0x53 ? this.statements : this.portals).delete(name);
        this.perNode(type === FrontendCode.Describe ? 'D message' : 'C message');
        return;
      }
      case FrontendCode.FunctionCall: // FunctionCall
        this.client('FunctionCall', `oid: "${r.int32()}"`);
        return;
      default: {
        const name = SIMPLE[type];
        if (name) this.client(name, undefined);
        if (type === FrontendCode.Sync) this.perNode('S message');
      }
    }
  }

  private client(name: string, detail: string | undefined): void {
    if (this.switches.clientMessages && this.shownAs !== 'again')
      this.line(`${name} message from frontend.`, detail, this.type !== FrontendCode.Terminate);
  }

  /** log_statement logs what the client ran; log_per_node_statement what went to each node. */
  private statement(text: string, perNodeText: string): void {
    if (this.switches.statement && this.shownAs !== 'again') this.line(`statement: ${text}`);
    this.perNode(perNodeText);
  }

  private perNode(text: string): void {
    if (this.shownAs === 'answered') return;
    if (this.switches.perNodeStatement) this.line(perNodeStatement(this.target.node, this.target.pid, text));
    if (this.switches.perNodeNotice) this.notice(noticeResponse(perNodeNotice(this.target.node, text)));
  }

  /** A LOG line; the client gets it too when client_min_messages says so (not after its Terminate). */
  private line(msg: string, detail?: string, toClient = true): void {
    this.log.info(detail === undefined ? {} : { detail }, msg);
    if (this.switches.clientLog && toClient) this.notice(noticeResponse(msg, 'LOG', detail));
  }
}

/** Reads C strings and integers from a message body; past the end gives "" and 0. */
class BodyReader {
  private at = 0;
  constructor(
    private readonly body: Buffer,
    private readonly cut: boolean,
  ) {}

  str(): string {
    const end = this.body.indexOf(0, this.at);
    if (end < 0) {
      const s = this.body.toString('utf8', this.at);
      this.at = this.body.length;
      return this.cut ? `${s}...` : s;
    }
    const s = this.body.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }

  byte(): number {
    return this.at < this.body.length ? this.body[this.at++] : 0;
  }

  int32(): number {
    if (this.at + 4 > this.body.length) return 0;
    const v = this.body.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
}
