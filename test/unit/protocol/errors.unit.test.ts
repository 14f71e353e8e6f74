// THE error catalogue: every entry is well formed, limit errors name a real parameter,
// and the texts clients see are pgpool's.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARAMS } from '../../../src/config/schema.js';
import { errorResponse } from '../../../src/protocol/backend-write.js';
import { CATALOGUE, poolerError, type ErrorCode } from '../../../src/protocol/errors.js';
import { SqlState } from '../../../src/protocol/sqlstate.js';
import { errorsMarkdown } from '../../../src/protocol/errors-doc.js';
import { repoRoot } from '../../helpers/shared.js';

const codes = Object.keys(CATALOGUE) as ErrorCode[];
const known = new Set<string>(Object.values(SqlState));

describe('error catalogue', () => {
  it.each(codes)('%s has a known SQLSTATE, a severity, a log level and a message', (code) => {
    const e = CATALOGUE[code];
    expect(known.has(e.sqlstate)).toBe(true);
    expect(['ERROR', 'FATAL']).toContain(e.severity);
    expect(['debug', 'info', 'warn', 'error']).toContain(e.log);
    expect(e.message.length).toBeGreaterThan(0);
  });

  it('every limit error names a parameter of the schema, and says it where it gives a hint', () => {
    const limits = codes.filter((c) => 'limit' in CATALOGUE[c]);
    expect(limits.sort()).toEqual([
      'AUTH_TIMEOUT',
      'IDLE_LIMIT',
      'MAX_CLIENT_CONN',
      'QUERY_WAIT_TIMEOUT',
      'QUEUE_FULL',
      'RESERVED_CONNECTIONS',
    ]);
    for (const code of limits) {
      const e: { limit?: string; hint?: string; sqlstate: string } = CATALOGUE[code];
      expect(PARAMS.has(e.limit!), code).toBe(true);
      if (e.hint) expect(e.hint, code).toContain(e.limit!);
      expect(poolerError(code).limit).toBe(e.limit);
    }
  });

  it('fills placeholders and leaves out a field whose placeholders are all empty', () => {
    const q = poolerError('QUEUE_FULL', { waiting: 12 });
    expect([q.sqlstate, q.message, q.detail, q.hint]).toEqual([
      '53300',
      'Sorry, too many clients already',
      '12 clients are already waiting for a free child',
      'raise num_init_children or listen_backlog_multiplier',
    ]);
    const a = poolerError('CLIENT_AUTH', { what: 'md5 authentication failed', detail: 'password does not match' });
    expect([a.message, a.detail, a.hint]).toEqual([
      'md5 authentication failed',
      'password does not match (client to pgpool-ts)',
      undefined,
    ]);
    expect(poolerError('UNKNOWN_PARAMETER', { name: 'x' }).severity).toBe('ERROR');
  });

  it("writes pgpool's reserved_connections refusal without the V field, others with it", () => {
    expect(errorResponse(poolerError('RESERVED_CONNECTIONS')).toString('latin1')).toBe(
      'E\0\0\0\x34SFATAL\0C53300\0MSorry, too many clients already\0\0',
    );
    expect(errorResponse(poolerError('SHUTDOWN')).toString('latin1')).toContain('SFATAL\0VFATAL\0C57P01\0');
  });
});

describe('docs/errors.md', () => {
  it('is the catalogue as it is now (npm run docs:errors)', () => {
    expect(fs.readFileSync(path.join(repoRoot, 'docs/errors.md'), 'utf8')).toBe(errorsMarkdown());
  });
});
