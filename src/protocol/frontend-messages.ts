// The fields of the extended-protocol and Query messages routing reads
// (docs/behaviour.md#routing): statement and portal names, the query text. Only for
// sessions over several nodes; the one-node relay reads headers only.
import { FrontendCode } from './codes.js';

/** Where the last cstring() ended: the offset after its NUL (a field, not a tuple per call). */
let after = 0;

/** The NUL-terminated string at `at` in `raw` (`after` is then the offset past its NUL). */
function cstring(raw: Buffer, at: number): string {
  const end = raw.indexOf(0, at);
  if (end < 0) {
    after = raw.length;
    return raw.toString('utf8', at);
  }
  after = end + 1;
  return raw.toString('utf8', at, end);
}

/** Query's text. */
export const querySql = (raw: Buffer): string => cstring(raw, 5);

/**
 * The last Parse and Bind read, by message: a cycle's routing, the statement registry and
 * the legs each look at the same message, and decode it once.
 */
let lastParse: { raw: Buffer | undefined; name: string; sql: string } = { raw: undefined, name: '', sql: '' };
let lastBind: { raw: Buffer | undefined; portal: string; statement: string } = {
  raw: undefined,
  portal: '',
  statement: '',
};

/** Parse: the statement name and the query text. */
export function parseFields(raw: Buffer): { readonly name: string; readonly sql: string } {
  if (lastParse.raw === raw) return lastParse;
  const name = cstring(raw, 5);
  lastParse = { raw, name, sql: cstring(raw, after) };
  return lastParse;
}

/** Bind: the portal and the statement it binds. */
export function bindFields(raw: Buffer): { readonly portal: string; readonly statement: string } {
  if (lastBind.raw === raw) return lastBind;
  const portal = cstring(raw, 5);
  lastBind = { raw, portal, statement: cstring(raw, after) };
  return lastBind;
}

/** Describe and Close: 'S' (statement) or 'P' (portal), and the name. */
export function targetFields(raw: Buffer): { kind: 'S' | 'P'; name: string } {
  return { kind: raw[5] === 0x53 ? 'S' : 'P', name: cstring(raw, 6) };
}

/** Execute: the portal. */
export const executePortal = (raw: Buffer): string => cstring(raw, 5);

/** Messages that belong to the extended protocol (answered at the next Sync). */
export function isExtended(type: number): boolean {
  return (
    type === FrontendCode.Parse ||
    type === FrontendCode.Bind ||
    type === FrontendCode.Describe ||
    type === FrontendCode.Execute ||
    type === FrontendCode.Close ||
    type === FrontendCode.Flush
  );
}
