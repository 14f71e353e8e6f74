// Messages the pooler writes to clients (it plays the server's part). Only the
// start-up, error and admin paths build messages; the relay forwards bytes as they come.
import { AuthCode, BackendCode } from './codes.js';

function message(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstr = (s: string) => Buffer.from(s + '\0', 'utf8');
// pgpool truncates each field to 255 bytes.
const field = (code: string, value: string) =>
  cstr(code + Buffer.from(value, 'utf8').subarray(0, 255).toString('utf8'));

/** The fields of an ErrorResponse the pooler writes (a PoolerError has them all). */
export interface ErrorFields {
  readonly severity: string;
  readonly sqlstate: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly withoutV?: boolean;
}

/** An ErrorResponse or NoticeResponse with pgpool's fields: S, V, C, M, optional D and H. */
function fieldsMessage(type: number, e: ErrorFields): Buffer {
  const parts = [field('S', e.severity)];
  // pgpool's reserved_connections refusal has no V field (docs/behaviour.md#admission).
  if (!e.withoutV) parts.push(field('V', e.severity));
  parts.push(field('C', e.sqlstate), field('M', e.message));
  if (e.detail) parts.push(field('D', e.detail));
  if (e.hint) parts.push(field('H', e.hint));
  parts.push(Buffer.from([0]));
  return message(type, Buffer.concat(parts));
}

export const errorResponse = (e: ErrorFields): Buffer => fieldsMessage(BackendCode.ErrorResponse, e);

/**
 * A NoticeResponse of the pooler's own, as pgpool's ereport(NOTICE) or ereport(LOG) sends
 * it to the client: S, C, M and an optional D (no V; the code is XX000, pgpool's when a
 * message sets none).
 */
export const noticeResponse = (text: string, severity: 'NOTICE' | 'LOG' = 'NOTICE', detail?: string): Buffer =>
  fieldsMessage(BackendCode.NoticeResponse, { severity, sqlstate: 'XX000', message: text, detail, withoutV: true });

export function authenticationRequest(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.allocUnsafe(4 + extra.length);
  body.writeInt32BE(code, 0);
  extra.copy(body, 4);
  return message(BackendCode.Authentication, body);
}

export const authenticationOk = () => authenticationRequest(AuthCode.Ok);

export function backendKeyData(pid: number, key: Buffer): Buffer {
  const body = Buffer.allocUnsafe(4 + key.length);
  body.writeInt32BE(pid, 0);
  key.copy(body, 4);
  return message(BackendCode.BackendKeyData, body);
}

export function parameterStatus(name: string, value: string): Buffer {
  return message(BackendCode.ParameterStatus, Buffer.concat([cstr(name), cstr(value)]));
}

export function readyForQuery(status: number): Buffer {
  return message(BackendCode.ReadyForQuery, Buffer.from([status]));
}

/** ReadyForQuery of each transaction status, made once (a relay writes one per request). */
const READY = new Map([0x49, 0x54, 0x45].map((s) => [s, readyForQuery(s)]));
/** ReadyForQuery with `status`, shared: never write into it. */
export const readyFor = (status: number): Buffer => READY.get(status) ?? readyForQuery(status);

export function negotiateProtocolVersion(newestMinor: number, unsupported: readonly string[]): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeInt32BE((3 << 16) | newestMinor, 0);
  head.writeInt32BE(unsupported.length, 4);
  return message(BackendCode.NegotiateProtocolVersion, Buffer.concat([head, ...unsupported.map(cstr)]));
}

/** A text result set as pgpool writes its reports: table OID 0, type OID 0, typlen -1, typmod 0, text format. */
export function textResult(columns: readonly string[], rows: readonly (readonly string[])[]): Buffer {
  const desc: Buffer[] = [Buffer.from([columns.length >> 8, columns.length & 0xff])];
  columns.forEach((c, i) => {
    const f = Buffer.alloc(18);
    f.writeInt32BE(0, 0); // table OID
    f.writeInt16BE(i, 4); // column number
    f.writeInt32BE(0, 6); // type OID
    f.writeInt16BE(-1, 10); // typlen
    f.writeInt32BE(0, 12); // typmod
    f.writeInt16BE(0, 16); // text format
    desc.push(cstr(c), f);
  });
  const out = [message(BackendCode.RowDescription, Buffer.concat(desc))];
  for (const row of rows) {
    const cells: Buffer[] = [Buffer.from([row.length >> 8, row.length & 0xff])];
    for (const v of row) {
      const b = Buffer.from(v, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeInt32BE(b.length, 0);
      cells.push(len, b);
    }
    out.push(message(BackendCode.DataRow, Buffer.concat(cells)));
  }
  out.push(commandComplete(`SELECT ${rows.length}`));
  return Buffer.concat(out);
}

export function commandComplete(tag: string): Buffer {
  return message(BackendCode.CommandComplete, cstr(tag));
}
