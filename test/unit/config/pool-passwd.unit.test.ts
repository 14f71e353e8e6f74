// pool_passwd reader: entry kinds and diagnostics.
import { describe, expect, it } from 'vitest';
import { parsePoolPasswd, findPoolPasswd } from '../../../src/config/pool-passwd.js';

describe('pool_passwd', () => {
  it('classifies entries by prefix and unescapes colons', () => {
    const r = parsePoolPasswd(
      [
        'alice:md5' + 'a'.repeat(32),
        'bob:AEShPw7Sb+AvGEnuE5bxHaa5A==',
        'carol:TEXTsecret',
        'dave:SCRAM-SHA-256$4096:abc',
        'eve:md5short',
        'fr\\:ed:pa\\:ss:backend:bpw',
      ].join('\n'),
      'pool_passwd',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.entries.map((e) => [e.user, e.kind, e.secret])).toEqual([
      ['alice', 'md5', 'md5' + 'a'.repeat(32)],
      ['bob', 'aes', 'hPw7Sb+AvGEnuE5bxHaa5A=='],
      ['carol', 'text', 'secret'],
      ['dave', 'scram', 'SCRAM-SHA-256$4096:abc'],
      ['eve', 'text', 'md5short'],
      ['fr:ed', 'text', 'pa:ss'],
    ]);
    expect(findPoolPasswd(r.entries, 'carol')?.secret).toBe('secret');
  });

  it('never echoes a malformed line, which may hold a password', () => {
    const r = parsePoolPasswd('no-colon-secret\n', 'pool_passwd');
    expect(r.diagnostics).toEqual([
      {
        severity: 'error',
        file: 'pool_passwd',
        line: 1,
        message: 'invalid pool_passwd entry: expected "username:password"',
      },
    ]);
    expect(JSON.stringify(r.diagnostics)).not.toContain('secret');
  });
});
