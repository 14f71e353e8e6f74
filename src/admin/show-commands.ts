// The SQL commands pgpool answers itself (pgpool-behavior.md §8), over the simple query
// protocol. Only SHOW pool_version so far; the other reports come with the admin work.
// Anything not answered here goes to PostgreSQL unchanged.
import { readyForQuery, textResult } from '../protocol/backend-write.js';
import { version } from '../version.js';

const READY_IDLE = 0x49; // pgpool always answers with ReadyForQuery 'I'

/** The statement's SHOW target, lower-cased as PostgreSQL's parser does for unquoted names. */
export function showTarget(query: string): string | undefined {
  const m = /^\s*show\s+([a-z_][a-z0-9_]*)\s*;?\s*$/i.exec(query);
  return m?.[1].toLowerCase();
}

export function answerAdminQuery(query: string): Buffer | undefined {
  switch (showTarget(query)) {
    case 'pool_version':
      return Buffer.concat([textResult(['pool_version'], [[`${version()} (pgpool-ts)`]]), readyForQuery(READY_IDLE)]);
    default:
      return undefined;
  }
}
