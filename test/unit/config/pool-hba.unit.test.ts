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
    ['hots all all 127.0.0.1/32 trust', 'invalid connection type "hots" in the type field'],
    ['host all all 127.0.0.1/33 trust', 'invalid IP mask "127.0.0.1/33" in the address field'],
    ['host all all 0.0.0.0.0/0 trust', 'invalid IP mask "0.0.0.0.0/0" in the address field'],
    ['host all all 256.1/8 trust', 'invalid IP mask "256.1/8" in the address field'],
    [
      'host all all 127.0.0.1 255.0.255.0 trust',
      'invalid IP mask "255.0.255.0" after address "127.0.0.1" in the mask field',
    ],
    ['host all all 127.0.0.1/32 trusty', 'invalid authentication method "trusty" in the method field'],
    ['host all all 127.0.0.1/32', 'end-of-line before authentication method'],
    ['local "all all trust', 'unterminated quoted string'],
  ])('%j: %s', (line, message) => {
    expect(parsePoolHba(`\n${line}\n`, 'pool_hba.conf').diagnostics).toEqual([
      { severity: 'error', file: 'pool_hba.conf', line: 2, message },
    ]);
  });

  // pgpool's own set-up scripts write 0/0; PostgreSQL reads addresses as inet_aton does.
  it.each([
    ['host all all 0/0 trust', '0.0.0.0', 0],
    ['host all all 127.1/32 md5', '127.0.0.1', 32],
    ['host all all 10.1/16 trust', '10.0.0.1', 16],
    ['host all all 10.1.2/24 trust', '10.1.0.2', 24],
    ['host all all 0x7f.1/8 trust', '127.0.0.1', 8],
    ['host all all 012.1.1.1/8 trust', '10.1.1.1', 8],
    ['host all all 127.1 255.255.255.255 trust', '127.0.0.1', 32],
    ['host all all 10.0.0.0 255.0.0.0 trust', '10.0.0.0', 8],
    ['host all all ::1/128 trust', '::1', 128],
    ['host all all ::/0 trust', '::', 0],
    ['hostssl all all 0.0.0.0/0 scram-sha-256', '0.0.0.0', 0],
  ])('%j reads the address as %s/%d', (line, address, prefix) => {
    const r = parsePoolHba(line, 'pool_hba.conf');
    expect(r.diagnostics).toEqual([]);
    expect(r.records[0].address).toMatchObject({ kind: 'cidr', address, prefix });
  });
});
