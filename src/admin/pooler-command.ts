// The one predicate for "is this simple query a command the pooler answers itself":
// SHOW pool_* (docs/behaviour.md#show) and PGPOOL SHOW/SET/RESET
// (docs/behaviour.md#pgpool-commands). The relay runs its byte form on each whole Query
// message (no allocation); only a query that passes it is decoded and classified.
import { parsePgpoolCommand, type PgpoolCommand } from './pgpool-commands.js';

const SHOW = [0x73, 0x68, 0x6f, 0x77]; // "show"
const POOL_ = [0x70, 0x6f, 0x6f, 0x6c, 0x5f]; // "pool_"
const PGPOOL = [0x70, 0x67, 0x70, 0x6f, 0x6f, 0x6c]; // "pgpool"
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/** Whether `word` then white space is at `i`, compared in place; returns the index after the space or −1. */
function wordAt(bytes: Buffer, i: number, end: number, word: readonly number[]): number {
  for (const c of word) if (i >= end || lower(bytes[i++]) !== c) return -1;
  if (i >= end || !isSpace(bytes[i])) return -1;
  while (i < end && isSpace(bytes[i])) i++;
  return i;
}

/** The byte form: whether the query text at bytes[from, end) starts with SHOW pool_ or PGPOOL. */
export function mayBePoolerCommand(bytes: Buffer, from: number, end: number): boolean {
  let i = from;
  while (i < end && isSpace(bytes[i])) i++;
  if (wordAt(bytes, i, end, PGPOOL) >= 0) return true;
  i = wordAt(bytes, i, end, SHOW);
  if (i < 0) return false;
  for (const c of POOL_) if (i >= end || lower(bytes[i++]) !== c) return false;
  return true;
}

export type PoolerCommand =
  { readonly kind: 'show'; readonly name: string } | { readonly kind: 'pgpool'; readonly command: PgpoolCommand };

/** The statement's SHOW target, lower-cased as PostgreSQL's parser does for unquoted names. */
export function showTarget(query: string): string | undefined {
  const m = /^\s*show\s+([a-z_][a-z0-9_]*)\s*;?\s*$/i.exec(query);
  return m?.[1].toLowerCase();
}

/**
 * What the pooler does with a query: answer a SHOW pool_* report (`isReport` says which
 * names it has), run a PGPOOL command, or nothing (undefined: it goes to PostgreSQL).
 */
export function classifyPoolerCommand(query: string, isReport: (name: string) => boolean): PoolerCommand | undefined {
  const pgpool = parsePgpoolCommand(query);
  if (pgpool) return { kind: 'pgpool', command: pgpool };
  const name = showTarget(query);
  return name !== undefined && isReport(name) ? { kind: 'show', name } : undefined;
}
