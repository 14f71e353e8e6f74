// Transaction pooling's view of the extended protocol (docs/transaction-pooling.md#prepared-statements):
// the server-side names of the statements clients prepare, shared by every client of the
// worker that prepares the same text with the same parameter types, and the messages that
// name them on a backend connection instead of the client's own name.
import type { ServerConnection } from '../../backend/server-connection.js';
import { FrontendCode } from '../../protocol/codes.js';
import type { BackendGone } from '../relay/relay.js';

/** Distinct statements remembered; beyond it the oldest text gets a new name when it comes back. */
const MAX_NAMES = 50_000;

export class StatementNames {
  private readonly byText = new Map<string, string>();
  private next = 0;

  /** The server name for a Parse body after its statement name (query text and parameter types). */
  of(rest: Buffer): string {
    const key = rest.toString('latin1');
    let name = this.byText.get(key);
    if (name === undefined) {
      name = `pgpool_ts_${++this.next}`;
      if (this.byText.size >= MAX_NAMES) this.byText.delete(this.byText.keys().next().value!);
      this.byText.set(key, name);
    }
    return name;
  }
}

/** The NUL-terminated string at `at` and the offset after it. */
export function cstringAt(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  if (end < 0) return [buf.toString('utf8', at), buf.length];
  return [buf.toString('utf8', at, end), end + 1];
}

function message(type: number, ...parts: Array<Buffer | string>): Buffer {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(`${p}\0`) : p));
  const len = 4 + bufs.reduce((n, b) => n + b.length, 0);
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeInt32BE(len, 1);
  return Buffer.concat([head, ...bufs]);
}

/** Parse of `rest` (query text and parameter types, as the client sent them) as statement `name`. */
export const parseMessage = (name: string, rest: Buffer): Buffer => message(FrontendCode.Parse, name, rest);

/** The client's Bind with its statement renamed; `after` is the body past the statement name. */
export const bindMessage = (portal: string, statement: string, after: Buffer): Buffer =>
  message(FrontendCode.Bind, portal, statement, after);

/** Describe or Close of a statement by its server name. */
export const statementMessage = (type: number, name: string): Buffer => message(type, Buffer.from([0x53]), name);

/** A transaction's backend connection was lost: its node is told, not the login's. */
export function lostOn(conn: ServerConnection | undefined, garbled?: string): BackendGone {
  return { kind: 'backend-gone', saidWhy: false, garbled, node: conn?.address.node };
}
