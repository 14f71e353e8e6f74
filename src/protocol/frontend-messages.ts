// The fields of the extended-protocol and Query messages routing reads
// (docs/behaviour.md#routing): statement and portal names, the query text. Only for
// sessions over several nodes; the one-node relay reads headers only.
import { FrontendCode } from './codes.js';

/** The NUL-terminated string at `at` in `raw`, and the offset after its NUL. */
function cstring(raw: Buffer, at: number): [string, number] {
  const end = raw.indexOf(0, at);
  if (end < 0) return [raw.toString('utf8', at), raw.length];
  return [raw.toString('utf8', at, end), end + 1];
}

/** Query's text. */
export const querySql = (raw: Buffer): string => cstring(raw, 5)[0];

/** Parse: the statement name and the query text. */
export function parseFields(raw: Buffer): { name: string; sql: string } {
  const [name, at] = cstring(raw, 5);
  return { name, sql: cstring(raw, at)[0] };
}

/** Bind: the portal and the statement it binds. */
export function bindFields(raw: Buffer): { portal: string; statement: string } {
  const [portal, at] = cstring(raw, 5);
  return { portal, statement: cstring(raw, at)[0] };
}

/** Describe and Close: 'S' (statement) or 'P' (portal), and the name. */
export function targetFields(raw: Buffer): { kind: 'S' | 'P'; name: string } {
  return { kind: raw[5] === 0x53 ? 'S' : 'P', name: cstring(raw, 6)[0] };
}

/** Execute: the portal. */
export const executePortal = (raw: Buffer): string => cstring(raw, 5)[0];

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
