// pool_passwd's AES entries (docs/behaviour.md#authentication): AES-256-CBC with PKCS#7 padding,
// key and IV derived from the pgpool key string as OpenSSL's EVP_BytesToKey(SHA1, no
// salt, 1 iteration) does, base64 text after the "AES" prefix. And the key file itself.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function keyAndIv(poolKey: string): { key: Buffer; iv: Buffer } {
  const k = Buffer.from(poolKey, 'utf8');
  const blocks: Buffer[] = [];
  let prev = Buffer.alloc(0);
  while (Buffer.concat(blocks).length < 48) {
    prev = crypto
      .createHash('sha1')
      .update(Buffer.concat([prev, k]))
      .digest();
    blocks.push(prev);
  }
  const all = Buffer.concat(blocks);
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) };
}

/** The text after "AES" for a password. */
export function aesEncrypt(password: string, poolKey: string): string {
  const { key, iv } = keyAndIv(poolKey);
  const c = crypto.createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([c.update(password, 'utf8'), c.final()]).toString('base64');
}

/** The password behind the text after "AES"; undefined when the key does not open it. */
export function aesDecrypt(base64: string, poolKey: string): string | undefined {
  try {
    const { key, iv } = keyAndIv(poolKey);
    const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([d.update(Buffer.from(base64, 'base64')), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Where the key file is: -k, else $PGPOOLKEYFILE, else ~/.pgpoolkey (as pgpool looks for it). */
export function poolKeyFile(cliKeyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (cliKeyFile) return path.resolve(cliKeyFile);
  if (env.PGPOOLKEYFILE) return path.resolve(env.PGPOOLKEYFILE);
  return path.join(env.HOME ?? os.homedir(), '.pgpoolkey');
}

export interface PoolKeyRead {
  readonly key?: string;
  /** Why there is no key, or a warning about a key that was read. */
  readonly problem?: string;
}

/** The key is the file's first line; a group- or world-readable file is used with a warning, as pgpool does. */
export function readPoolKey(file: string): PoolKeyRead {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return {
      problem: `could not read pool key file "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    };
  }
  const key = text.split('\n')[0].replace(/\r$/, '');
  if (key === '') return { problem: `pool key file "${file}" is empty` };
  if ((mode & 0o077) !== 0)
    return {
      key,
      problem: `pool key file "${file}" has group or world access; permissions should be u=rw (0600) or less`,
    };
  return { key };
}
