// The pool_passwd tool's file edits: replace, append, escape.
import { describe, expect, it } from 'vitest';
import { parsePoolPasswd } from '../../../src/config/pool-passwd.js';

describe('pool_passwd tool', () => {
  it("replaces the user's line, appends a new user, escapes colons, keeps other lines", async () => {
    const { upsertPoolPasswd } = await import('../../../src/admin/passwd-tool.js');
    expect(upsertPoolPasswd('', 'a', 'TEXTx')).toBe('a:TEXTx\n');
    expect(upsertPoolPasswd('# c\na:old\nab:keep\n', 'a', 'new')).toBe('# c\na:new\nab:keep\n');
    expect(upsertPoolPasswd('a:1', 'b:c', 'p')).toBe('a:1\nb\\:c:p\n');
    expect(parsePoolPasswd(upsertPoolPasswd('', 'b:c', 'TEXTp'), 'f').entries[0]).toMatchObject({
      user: 'b:c',
      kind: 'text',
      secret: 'p',
    });
  });
});
