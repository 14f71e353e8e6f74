// pcp.conf reader: `username:md5hex` per line. As pgpool, a line is skipped only when it
// starts with '#' or is empty; the first entry for a user wins; user and password are at
// most 128 bytes each.
import fs from 'node:fs';
import type { Diagnostic } from './diagnostic.js';

export interface PcpUser {
  readonly line: number;
  readonly user: string;
  /** md5 hex of the password (32 lower-case hex digits). */
  readonly md5: string;
}

export interface PcpConfLoad {
  readonly users: readonly PcpUser[];
  readonly diagnostics: readonly Diagnostic[];
}

const MAX_FIELD = 128;

export function parsePcpConf(text: string, file: string): PcpConfLoad {
  const users: PcpUser[] = [];
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const err = (message: string) => diagnostics.push({ severity: 'error', file, line: idx + 1, message });
    const colon = line.indexOf(':');
    if (colon < 0) return err('invalid pcp.conf entry: expected "username:md5 hash of the password"');
    const user = line.slice(0, colon);
    const md5 = line.slice(colon + 1).trim();
    if (Buffer.byteLength(user) > MAX_FIELD || Buffer.byteLength(md5) > MAX_FIELD)
      return err(`user name or password longer than ${MAX_FIELD} bytes`);
    if (!/^[0-9a-fA-F]{32}$/.test(md5))
      return err(`password of user "${user}" is not an md5 hash (create it with: pg_md5 <password>)`);
    if (!users.some((u) => u.user === user)) users.push({ line: idx + 1, user, md5: md5.toLowerCase() });
  });
  return { users, diagnostics };
}

export function loadPcpConf(file: string): PcpConfLoad {
  try {
    return parsePcpConf(fs.readFileSync(file, 'utf8'), file);
  } catch (e) {
    return {
      users: [],
      diagnostics: [
        { severity: 'error', file, line: 0, message: `could not open pcp.conf "${file}": ${(e as Error).message}` },
      ],
    };
  }
}
