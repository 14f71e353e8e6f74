// pool_passwd secrets as the client authenticator reads them (AES with pgpool's key derivation).
import { describe, expect, it } from 'vitest';
import { entrySecret, typedMatches } from '../../../src/auth/frontend-auth.js';
import { md5Stored } from '../../../src/auth/md5.js';
import { aesDecrypt, aesEncrypt, poolKeyFile } from '../../../src/auth/pool-key.js';
import { parsePoolPasswd } from '../../../src/config/pool-passwd.js';

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
