// Pure authentication logic: pool_hba.conf matching, the SCRAM server exchange against
// a real SCRAM client, pool_passwd secrets (AES with pgpool's key derivation).
import { describe, expect, it } from 'vitest';
import { entrySecret, typedMatches } from '../../src/auth/frontend-auth.js';
import { matchHba, inNetwork, type HbaClient, type HbaEnv } from '../../src/auth/hba-match.js';
import { md5Stored } from '../../src/auth/md5.js';
import { aesDecrypt, aesEncrypt, poolKeyFile } from '../../src/auth/pool-key.js';
import { ScramClient } from '../../src/auth/scram-client.js';
import { scramVerifier, ScramError, ScramServer } from '../../src/auth/scram-server.js';
import { parsePoolHba } from '../../src/config/pool-hba.js';
import { parsePoolPasswd } from '../../src/config/pool-passwd.js';

const env = (over: Partial<HbaEnv> = {}): HbaEnv => ({
  sslEnabled: true,
  interfaces: [
    { address: '10.1.2.3', prefix: 16 },
    { address: '127.0.0.1', prefix: 8 },
  ],
  hostnameOf: async (a) => (a === '192.0.2.7' ? 'app7.example.com' : undefined),
  ...over,
});
const client = (over: Partial<HbaClient> = {}): HbaClient => ({
  local: false,
  ssl: false,
  address: '192.0.2.7',
  database: 'app',
  user: 'alice',
  ...over,
});
const lineOf = async (text: string, c: HbaClient, e = env()) =>
  (await matchHba(parsePoolHba(text, 'pool_hba.conf').records, c, e))?.line;

describe('pool_hba.conf matching', () => {
  it('takes the first record that matches, none means no match', async () => {
    const text = 'host app bob all md5\nhost app alice 192.0.2.0/24 scram-sha-256\nhost all all all trust\n';
    expect(await lineOf(text, client())).toBe(2);
    expect(await lineOf(text, client({ address: '198.51.100.1' }))).toBe(3);
    expect(await lineOf('host app bob all md5\n', client())).toBeUndefined();
  });

  it('separates local from host, and hostssl/hostnossl by the TLS state', async () => {
    const text = 'local all all trust\nhostssl all all all cert\nhostnossl all all all md5\n';
    expect(await lineOf(text, client({ local: true, address: undefined }))).toBe(1);
    expect(await lineOf(text, client({ ssl: true }))).toBe(2);
    expect(await lineOf(text, client({ ssl: false }))).toBe(3);
    // ssl = off: a hostssl record never matches (pgpool warns).
    const notes: string[] = [];
    expect(
      await lineOf(text, client({ ssl: true }), env({ sslEnabled: false, note: (_r, why) => notes.push(why) })),
    ).toBeUndefined();
    expect(notes).toContain('hostssl record with ssl = off never matches');
  });

  it('knows all, sameuser, quoted keywords, samegroup (never) and +group (never)', async () => {
    expect(await lineOf('host sameuser all all trust\n', client({ database: 'alice' }))).toBe(1);
    expect(await lineOf('host sameuser all all trust\n', client())).toBeUndefined();
    expect(await lineOf('host "all" all all trust\n', client())).toBeUndefined();
    expect(await lineOf('host "all" all all trust\n', client({ database: 'all' }))).toBe(1);
    expect(await lineOf('host samegroup all all trust\n', client())).toBeUndefined();
    expect(await lineOf('host all +admins all trust\n', client())).toBeUndefined();
    expect(await lineOf('host app,other bob,alice all trust\n', client())).toBe(1);
  });

  it('matches CIDR, address + mask, IPv6, IPv4-mapped IPv6, samehost and samenet', async () => {
    expect(await lineOf('host all all 192.0.2.0 255.255.255.0 trust\n', client())).toBe(1);
    expect(await lineOf('host all all 192.0.2.8/32 trust\n', client())).toBeUndefined();
    expect(await lineOf('host all all 192.0.2.0/24 trust\n', client({ address: '::ffff:192.0.2.99' }))).toBe(1);
    expect(await lineOf('host all all 2001:db8::/32 trust\n', client({ address: '2001:db8:1::5' }))).toBe(1);
    expect(await lineOf('host all all 2001:db8::/32 trust\n', client({ address: '2001:db9::5' }))).toBeUndefined();
    expect(await lineOf('host all all samehost trust\n', client({ address: '10.1.2.3' }))).toBe(1);
    expect(await lineOf('host all all samehost trust\n', client({ address: '10.1.9.9' }))).toBeUndefined();
    expect(await lineOf('host all all samenet trust\n', client({ address: '10.1.9.9' }))).toBe(1);
    expect(await lineOf('host all all samenet trust\n', client({ address: '10.2.0.1' }))).toBeUndefined();
    expect(inNetwork('0.0.0.0', '0.0.0.0', 0)).toBe(true);
  });

  it('matches host names (verified by the caller) and .suffix names', async () => {
    expect(await lineOf('host all all app7.example.com trust\n', client())).toBe(1);
    expect(await lineOf('host all all .example.com trust\n', client())).toBe(1);
    expect(await lineOf('host all all .example.org trust\n', client())).toBeUndefined();
    expect(await lineOf('host all all app7.example.com trust\n', client({ address: '192.0.2.8' }))).toBeUndefined();
  });
});

describe('SCRAM-SHA-256 server', () => {
  it('accepts the right password from a SCRAM client and signs its answer', () => {
    const server = new ScramServer(scramVerifier('sekret'));
    const c = new ScramClient('sekret');
    const serverFirst = server.first(c.first());
    expect(serverFirst).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    const serverFinal = server.final(c.final(serverFirst));
    expect(serverFinal).toMatch(/^v=/);
    expect(c.verify(serverFinal!)).toBe(true);
  });

  it('refuses a wrong password, a changed nonce, and channel binding it did not offer', () => {
    const server = new ScramServer(scramVerifier('sekret'));
    const c = new ScramClient('wrong');
    const serverFirst = server.first(c.first());
    expect(server.final(c.final(serverFirst))).toBeUndefined();
    const s2 = new ScramServer(scramVerifier('sekret'));
    const c2 = new ScramClient('sekret');
    const first2 = s2.first(c2.first());
    const final2 = c2.final(first2).replace(/r=([^,]+)/, 'r=$1x');
    expect(() => s2.final(final2)).toThrow(ScramError);
    expect(() => new ScramServer(scramVerifier('x')).first('p=tls-server-end-point,,n=,r=abc')).toThrow(
      'channel binding is not supported by this server',
    );
  });
});

describe('pool_passwd secrets', () => {
  it('AES: the documented vector, round trips, and a wrong key fails', () => {
    expect(aesDecrypt('hPw7Sb+AvGEnuE5bxHaa5A==', 'mysecretkey')).toBe('pwpass');
    expect(aesEncrypt('pwpass', 'mysecretkey')).toBe('hPw7Sb+AvGEnuE5bxHaa5A==');
    expect(aesDecrypt(aesEncrypt('p:w \u00e9', 'k'), 'k')).toBe('p:w \u00e9');
    expect(aesDecrypt('hPw7Sb+AvGEnuE5bxHaa5A==', 'otherkey')).toBeUndefined();
  });

  it("reads each kind, and refuses AES without its key and SCRAM verifiers with pgpool's messages", () => {
    const { entries } = parsePoolPasswd(
      `a:TEXTpw\nb:${md5Stored('pw', 'b')}\nc:AEShPw7Sb+AvGEnuE5bxHaa5A==\nd:SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5\ne:md5short\n`,
      'pool_passwd',
    );
    expect(entrySecret(entries[0], undefined, 'x')).toEqual({ kind: 'plain', password: 'pw' });
    expect(entrySecret(entries[1], undefined, 'x')).toEqual({ kind: 'md5', stored: md5Stored('pw', 'b') });
    expect(entrySecret(entries[2], 'mysecretkey', 'x')).toEqual({ kind: 'plain', password: 'pwpass' });
    expect(() => entrySecret(entries[2], 'bad', 'md5 authentication failed')).toThrow(
      expect.objectContaining({
        message: 'md5 authentication failed',
        detail: 'unable to decrypt password from pool_passwd (client to pgpool-ts)',
        hint: 'verify the valid pool_key exists',
      }),
    );
    expect(() => entrySecret(entries[3], undefined, 'x')).toThrow(
      expect.objectContaining({ detail: 'username "d" has invalid password type (client to pgpool-ts)' }),
    );
    expect(entrySecret(entries[4], undefined, 'x')).toEqual({ kind: 'plain', password: 'md5short' });
    expect(typedMatches({ kind: 'md5', stored: md5Stored('pw', 'b') }, 'pw', 'b')).toBe(true);
    expect(typedMatches({ kind: 'md5', stored: md5Stored('pw', 'b') }, 'pw', 'c')).toBe(false);
  });

  it('finds the key file as pgpool does: -k, then $PGPOOLKEYFILE, then ~/.pgpoolkey', () => {
    expect(poolKeyFile('/etc/k', { PGPOOLKEYFILE: '/x' })).toBe('/etc/k');
    expect(poolKeyFile(undefined, { PGPOOLKEYFILE: '/x' })).toBe('/x');
    expect(poolKeyFile(undefined, { HOME: '/home/pg' })).toBe('/home/pg/.pgpoolkey');
  });
});

describe('pool_passwd tool', () => {
  it("replaces the user's line, appends a new user, escapes colons, keeps other lines", async () => {
    const { upsertPoolPasswd } = await import('../../src/admin/passwd-tool.js');
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
