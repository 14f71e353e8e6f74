// The SCRAM-SHA-256 key schedule (RFC 5802/7677) both sides share: SaltedPassword and the
// keys derived from it, and the HMAC/hash primitives of the exchange.
import crypto from 'node:crypto';

export const hmac = (key: Buffer, data: string | Buffer) => crypto.createHmac('sha256', key).update(data).digest();
export const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest();

export interface ScramKeys {
  readonly clientKey: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function scramKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}
