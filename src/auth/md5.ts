// PostgreSQL's md5 password scheme: "md5" + md5hex(md5hex(password + user) + salt).
import crypto from 'node:crypto';

export const md5hex = (data: string | Buffer) => crypto.createHash('md5').update(data).digest('hex');

/** Whether a password is already the stored md5 form ("md5" + 32 hex digits). */
export const isMd5Stored = (s: string) => s.length === 35 && /^md5[0-9a-f]{32}$/.test(s);

/** The stored form: "md5" + md5hex(password + user). */
export const md5Stored = (password: string, user: string) => 'md5' + md5hex(password + user);

/** The response to an md5 challenge, from the stored form ("md5…") and the 4-byte salt. */
export function md5Response(stored: string, salt: Buffer): string {
  return 'md5' + md5hex(Buffer.concat([Buffer.from(stored.slice(3)), salt]));
}
