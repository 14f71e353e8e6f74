// pool_hba.conf reader: records, fields and diagnostics with file and line.
import { describe, expect, it } from 'vitest';
import { parsePoolHba } from '../../../src/config/pool-hba.js';

describe('pool_hba.conf', () => {
  it('reads types, lists, quoting, masks and options', () => {
    const r = parsePoolHba(
      [
        '# comment',
        'local all all trust',
        'host "all",db2 alice,+grp 10.0.0.0/8 md5',
        'hostssl sameuser all 192.168.1.0 255.255.255.0 cert',
        'hostnossl all all samenet scram-sha-256',
        'host all all .example.com pam pamservice=pgpool',
      ].join('\n'),
      'pool_hba.conf',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.records).toHaveLength(5);
    expect(r.records[1].databases).toEqual([
      { name: 'all', quoted: true },
      { name: 'db2', quoted: false },
    ]);
    expect(r.records[1].address).toEqual({ kind: 'cidr', address: '10.0.0.0', prefix: 8, family: 4 });
    expect(r.records[2]).toMatchObject({
      line: 4,
      type: 'hostssl',
      method: 'cert',
      address: { kind: 'cidr', prefix: 24 },
    });
    expect(r.records[3].address).toEqual({ kind: 'samenet' });
    expect(r.records[4]).toMatchObject({ address: { kind: 'hostname', name: '.example.com' }, method: 'pam' });
    expect(r.records[4].options.get('pamservice')).toBe('pgpool');
  });

  it.each([
    ['hots all all 127.0.0.1/32 trust', 'invalid connection type "hots"'],
    ['host all all 127.0.0.1/33 trust', 'invalid IP mask "127.0.0.1/33"'],
    ['host all all 127.0.0.1 255.0.255.0 trust', 'invalid IP mask "255.0.255.0" after address "127.0.0.1"'],
    ['host all all 127.0.0.1/32 trusty', 'invalid authentication method "trusty"'],
    ['host all all 127.0.0.1/32', 'end-of-line before authentication method'],
    ['local "all all trust', 'unterminated quoted string'],
  ])('%j: %s', (line, message) => {
    expect(parsePoolHba(`\n${line}\n`, 'pool_hba.conf').diagnostics).toEqual([
      { severity: 'error', file: 'pool_hba.conf', line: 2, message },
    ]);
  });
});
