// One simple query the pooler runs for itself on a leased connection (the capacity check;
// later the health and role checks): the rows as text, NULL as null.
import { serialize } from 'pg-protocol';
import { BackendCode } from '../protocol/codes.js';
import { cstrings, errorFields } from '../protocol/message-reader.js';
import { MessageStream } from '../protocol/message-stream.js';
import type { ServerConnection } from './server-connection.js';

/** A query's rows, text values (null for NULL). */
export type Rows = Array<Array<string | null>>;
/** Sees each ParameterStatus a query makes PostgreSQL send. */
export type StatusSink = (name: string, value: string) => void;

export async function simpleQuery(
  conn: ServerConnection,
  sql: string,
  timeoutMs: number,
  onStatus?: StatusSink,
): Promise<Rows> {
  const stream = new MessageStream(conn.socket);
  const rows: Array<Array<string | null>> = [];
  let error: string | undefined;
  try {
    conn.socket.write(serialize.query(sql));
    for (;;) {
      const m = await stream.next(timeoutMs);
      if (m.type === BackendCode.DataRow) rows.push(dataRow(m.body));
      else if (m.type === BackendCode.ErrorResponse) error = errorFields(m.body).get('M');
      else if (m.type === BackendCode.ParameterStatus && onStatus) {
        const [name, value] = cstrings(m.body);
        onStatus(name, value);
      } else if (m.type === BackendCode.ReadyForQuery) break;
    }
  } finally {
    stream.detach();
  }
  if (error !== undefined) throw new Error(error);
  return rows;
}

export function dataRow(body: Buffer): Array<string | null> {
  const n = body.readInt16BE(0);
  const row: Array<string | null> = [];
  let i = 2;
  for (let c = 0; c < n; c++) {
    const len = body.readInt32BE(i);
    i += 4;
    row.push(len < 0 ? null : body.toString('utf8', i, i + len));
    if (len > 0) i += len;
  }
  return row;
}
