// pool_passwd reader (docs/behaviour.md#authentication): `user:password[:backend_user:backend_password]`
// with `\:` escaping a colon; the password's prefix says its kind. Decrypting AES
// entries is auth/'s job; no line of this file ever goes to a log.
import { isMd5Stored } from '../auth/md5.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './diagnostic.js';

export type PasswordKind = 'md5' | 'aes' | 'scram' | 'text';

export interface PoolPasswdEntry {
  readonly line: number;
  readonly user: string;
  readonly kind: PasswordKind;
  /** md5: "md5"+32 hex; aes: the base64 text after "AES"; scram: the whole verifier; text: the plain password. */
  readonly secret: string;
}

export function passwordKind(p: string): { kind: PasswordKind; secret: string } {
  if (isMd5Stored(p)) return { kind: 'md5', secret: p };
  if (p.startsWith('AES')) return { kind: 'aes', secret: p.slice(3) };
  if (p.startsWith('SCRAM-SHA-256$')) return { kind: 'scram', secret: p };
  if (p.startsWith('TEXT')) return { kind: 'text', secret: p.slice(4) };
  return { kind: 'text', secret: p };
}

/** Splits on unescaped colons; `\:` is a literal colon (and `\\` a backslash). */
function splitFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export interface PoolPasswdLoad {
  readonly entries: readonly PoolPasswdEntry[];
  readonly diagnostics: readonly Diagnostic[];
}

export function parsePoolPasswd(text: string, file: string): PoolPasswdLoad {
  const entries: PoolPasswdEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const f = splitFields(line);
    if (f.length < 2 || f[0] === '') {
      // Never echo the line: it may hold a password.
      diagnostics.push({
        severity: 'error',
        file,
        line: idx + 1,
        message: 'invalid pool_passwd entry: expected "username:password"',
      });
      return;
    }
    // A SCRAM verifier (`SCRAM-SHA-256$iter:salt$stored:server`) contains colons of its own.
    const password = f[1].startsWith('SCRAM-SHA-256$') ? f.slice(1, 3).join(':') : f[1];
    entries.push({ line: idx + 1, user: f[0], ...passwordKind(password) });
  });
  return { entries, diagnostics };
}

export function findPoolPasswd(entries: readonly PoolPasswdEntry[], user: string): PoolPasswdEntry | undefined {
  return entries.find((e) => e.user === user);
}

export function loadPoolPasswd(file: string): PoolPasswdLoad {
  try {
    return parsePoolPasswd(fs.readFileSync(file, 'utf8'), file);
  } catch (e) {
    return {
      entries: [],
      diagnostics: [
        {
          severity: 'error',
          file,
          line: 0,
          message: `could not open pool_passwd file "${file}": ${(e as Error).message}`,
        },
      ],
    };
  }
}

/** The pool_passwd parameter's file: relative to pgpool.conf's directory, as pgpool resolves it. */
export function poolPasswdFile(configFile: string, poolPasswd: string): string {
  return path.resolve(path.dirname(configFile), poolPasswd);
}
