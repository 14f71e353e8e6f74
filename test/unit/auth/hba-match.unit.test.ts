// pool_hba.conf matching: first record that applies, addresses, names, methods.
import { describe, expect, it } from 'vitest';
import { matchHba, inNetwork, type HbaClient, type HbaEnv } from '../../../src/auth/hba-match.js';
import { parsePoolHba } from '../../../src/config/pool-hba.js';

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
