// The replies a transaction-mode client is owed, in order (docs/transaction-pooling.md#prepared-statements):
// one entry per message sent to the backend that it answers, and the replies made by the
// pooler itself for messages it did not send (a statement already prepared, a client-only
// Close, an error of its own), so each goes to the client in its place in the stream.
import { BackendCode } from '../../protocol/codes.js';

export type Entry =
  | { readonly kind: 'query' } // Query, FunctionCall: everything up to ReadyForQuery
  | { readonly kind: 'sync' }
  | { readonly kind: 'parse'; readonly server?: string; readonly defines?: string }
  /** A Parse the pooler added before the client's Bind or Describe: its ParseComplete is not the client's. */
  | { readonly kind: 'hiddenParse'; readonly server: string }
  /** A Close the pooler added to keep max_prepared_statements: its CloseComplete is not the client's. */
  | { readonly kind: 'hiddenClose'; readonly server: string }
  | { readonly kind: 'bind' }
  | { readonly kind: 'describeStatement' }
  | { readonly kind: 'describePortal' }
  | { readonly kind: 'execute' }
  | { readonly kind: 'close' }
  /** A reply made here, sent when it reaches the head. */
  | { readonly kind: 'made'; readonly bytes: Buffer };

const PARSE_COMPLETE = 0x31;
const BIND_COMPLETE = 0x32;
const CLOSE_COMPLETE = 0x33;
const NO_DATA = 0x6e;
const PORTAL_SUSPENDED = 0x73;

export class Expected {
  private readonly entries: Entry[] = [];
  private first = 0;

  get head(): Entry | undefined {
    return this.entries[this.first];
  }

  get length(): number {
    return this.entries.length - this.first;
  }

  push(e: Entry): void {
    this.entries.push(e);
  }

  shift(): Entry | undefined {
    const e = this.entries[this.first];
    if (e === undefined) return undefined;
    this.first++;
    // Compact now and then, not on every reply.
    if (this.first > 64 && this.first * 2 > this.entries.length) {
      this.entries.splice(0, this.first);
      this.first = 0;
    }
    if (this.first === this.entries.length) {
      this.entries.length = 0;
      this.first = 0;
    }
    return e;
  }

  /** Whether message type `t` is the last reply to `e` (the error case is failed()). */
  answers(e: Entry, t: number): boolean {
    switch (e.kind) {
      case 'query':
      case 'sync':
        return t === BackendCode.ReadyForQuery;
      case 'parse':
      case 'hiddenParse':
        return t === PARSE_COMPLETE;
      case 'hiddenClose':
      case 'close':
        return t === CLOSE_COMPLETE;
      case 'bind':
        return t === BIND_COMPLETE;
      case 'describeStatement':
      case 'describePortal':
        // A statement's ParameterDescription comes first; RowDescription or NoData ends either.
        return t === BackendCode.RowDescription || t === NO_DATA;
      case 'execute':
        return t === BackendCode.CommandComplete || t === BackendCode.EmptyQueryResponse || t === PORTAL_SUSPENDED;
      case 'made':
        return false;
    }
  }

  /**
   * The head's extended-protocol message failed: PostgreSQL skips everything up to Sync, so
   * do the replies owed for them, made ones too. What those skipped messages would have
   * created is undone: the server names they prepared, the client names they defined; a
   * skipped Close left its statement in place.
   */
  failed(prepared: Map<string, true>, statements: Map<string, unknown> | undefined): void {
    for (let e = this.head; e && e.kind !== 'sync'; e = this.head) {
      if (e.kind === 'parse' || e.kind === 'hiddenParse') {
        if (e.server !== undefined) prepared.delete(e.server);
        if (e.kind === 'parse' && e.defines !== undefined) statements?.delete(e.defines);
      } else if (e.kind === 'hiddenClose') prepared.set(e.server, true);
      this.shift();
    }
  }
}
