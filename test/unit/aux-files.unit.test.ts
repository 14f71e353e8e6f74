// pool_hba.conf, pool_passwd and pcp.conf readers, and the reload plan.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePoolHba } from '../../src/config/pool-hba.js';
import { parsePoolPasswd, findPoolPasswd } from '../../src/config/pool-passwd.js';
import { parsePcpConf } from '../../src/config/pcp-conf.js';
import { loadConfig } from '../../src/config/conf-loader.js';
import { planReload } from '../../src/config/reload.js';

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

describe('reload plan', () => {
  it('applies reloadable changes and keeps start-only ones, naming them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(
      f,
      "num_init_children = 4\nclient_idle_limit = 0\nbackend_hostname0 = 'a'\nbackend_port0 = 5432\n",
    );
    const running = loadConfig(f).config;
    fs.writeFileSync(
      f,
      "num_init_children = 8\nclient_idle_limit = 5min\nbackend_hostname0 = 'b'\nbackend_port0 = 5432\nreset_query_list = 'DISCARD ALL'\n",
    );
    const plan = planReload(running, loadConfig(f));
    fs.rmSync(dir, { recursive: true });
    expect([...plan.changed].sort()).toEqual(['client_idle_limit', 'reset_query_list']);
    expect([...plan.needRestart].sort()).toEqual(['backend_hostname', 'num_init_children']);
    expect([
      plan.config.num_init_children,
      plan.config.client_idle_limit,
      plan.config.backend_hostname.nodes.get(0),
    ]).toEqual([4, 300, 'a']);
    expect(plan.config.reset_query_list).toEqual(['DISCARD ALL']);
  });
});
