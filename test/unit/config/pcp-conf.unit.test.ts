// pcp.conf reader.
import { describe, expect, it } from 'vitest';
import { parsePcpConf } from '../../../src/config/pcp-conf.js';

describe('pcp.conf', () => {
  const hash = 'e8a48653851e28c69d0506508fb27fc5';
  it('reads users, first one wins, skips only # and empty lines', () => {
    const r = parsePcpConf(`# c\n\npcpadmin:${hash}\npcpadmin:${'0'.repeat(32)}\n`, 'pcp.conf');
    expect(r).toEqual({ users: [{ line: 3, user: 'pcpadmin', md5: hash }], diagnostics: [] });
  });
  it.each([
    ['  # indented comment', 'invalid pcp.conf entry: expected "username:md5 hash of the password"'],
    ['admin:secret', 'password of user "admin" is not an md5 hash (create it with: pg_md5 <password>)'],
    [`${'u'.repeat(129)}:${hash}`, 'user name or password longer than 128 bytes'],
  ])('%j: %s', (line, message) => {
    expect(parsePcpConf(line, 'pcp.conf').diagnostics).toEqual([
      { severity: 'error', file: 'pcp.conf', line: 1, message },
    ]);
  });
});
