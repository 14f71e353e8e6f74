// pool_hba.conf reader: PostgreSQL pg_hba.conf-style records (docs/behaviour.md#configuration).
// Only reading and validation live here; matching a client is auth/'s job.
import fs from 'node:fs';
import net from 'node:net';
import type { Diagnostic } from './diagnostic.js';

export type HbaConnType = 'local' | 'host' | 'hostssl' | 'hostnossl';
export type HbaMethod = 'trust' | 'reject' | 'md5' | 'scram-sha-256' | 'password' | 'cert' | 'pam' | 'ldap';

export type HbaAddress =
  | { kind: 'all' }
  | { kind: 'samehost' }
  | { kind: 'samenet' }
  | { kind: 'cidr'; address: string; prefix: number; family: 4 | 6 }
  | { kind: 'hostname'; name: string };

export interface HbaRecord {
  readonly line: number;
  readonly type: HbaConnType;
  /** Each entry keeps whether it was quoted: a quoted keyword is a plain name. */
  readonly databases: readonly HbaName[];
  readonly users: readonly HbaName[];
  readonly address?: HbaAddress;
  readonly method: HbaMethod;
  readonly options: ReadonlyMap<string, string>;
}

export interface HbaName {
  readonly name: string;
  readonly quoted: boolean;
}

const TYPES = new Set<string>(['local', 'host', 'hostssl', 'hostnossl']);
const METHODS = new Set<string>(['trust', 'reject', 'md5', 'scram-sha-256', 'password', 'cert', 'pam', 'ldap']);

/** Splits a line into fields; a field is a comma list of possibly double-quoted items. */
function fields(line: string): HbaName[][] | string {
  const out: HbaName[][] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length || line[i] === '#') break;
    const items: HbaName[] = [];
    for (;;) {
      let name = '';
      let quoted = false;
      while (i < line.length && !/[\s,#]/.test(line[i])) {
        if (line[i] === '"') {
          const end = line.indexOf('"', i + 1);
          if (end < 0) return 'unterminated quoted string';
          name += line.slice(i + 1, end);
          quoted = true;
          i = end + 1;
        } else {
          name += line[i++];
        }
      }
      items.push({ name, quoted });
      if (line[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    out.push(items);
  }
  return out;
}

/**
 * An IPv4 address in any form inet_aton accepts, as PostgreSQL's numeric getaddrinfo does
 * (`0`, `10.1`, `127.1`, `10.1.2`, parts in decimal, octal `010` or hex `0x1f`), as a dotted
 * quad; undefined when it is not one.
 */
export function inetAton(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => !/^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.test(p))) return undefined;
  const values = parts.map((p) =>
    /^0x/i.test(p) ? parseInt(p.slice(2), 16) : p.length > 1 && p[0] === '0' ? parseInt(p, 8) : Number(p),
  );
  // The last part fills the bytes the earlier ones left: a → 32 bits, a.b → 8 + 24, a.b.c → 8 + 8 + 16.
  const lastBits = 8 * (5 - parts.length);
  const head = values.slice(0, -1);
  const last = values[values.length - 1];
  if (head.some((v) => v > 255) || last >= 2 ** lastBits) return undefined;
  const bytes = [...head];
  for (let shift = lastBits - 8; shift >= 0; shift -= 8) bytes.push(Math.floor(last / 2 ** shift) % 256);
  return bytes.join('.');
}

/** A numeric address as PostgreSQL reads one: IPv6, or IPv4 in any inet_aton form. */
function numericAddress(text: string): { address: string; family: 4 | 6 } | undefined {
  if (net.isIPv6(text)) return { address: text, family: 6 };
  const v4 = inetAton(text);
  return v4 === undefined ? undefined : { address: v4, family: 4 };
}

function maskToPrefix(text: string): number | undefined {
  const n = numericAddress(text);
  if (!n) return undefined;
  const mask = n.address;
  const fam = n.family;
  const bytes = fam === 4 ? mask.split('.').map(Number) : expandV6(mask);
  let prefix = 0;
  let seenZero = false;
  for (const b of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = ((b >> bit) & 1) === 1;
      if (one && seenZero) return undefined;
      if (one) prefix++;
      else seenZero = true;
    }
  }
  return prefix;
}

export function expandV6(addr: string): number[] {
  const [head, tail] = addr.split('::');
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

export interface HbaLoad {
  readonly records: readonly HbaRecord[];
  readonly diagnostics: readonly Diagnostic[];
}

export function parsePoolHba(text: string, file: string): HbaLoad {
  const records: HbaRecord[] = [];
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const err = (message: string) => diagnostics.push({ severity: 'error', file, line, message });
    const f = fields(raw.replace(/\r$/, ''));
    if (typeof f === 'string') return err(f);
    if (f.length === 0) return;
    const word = (k: number) => f[k]?.[0]?.name;
    const type = word(0)!;
    if (!TYPES.has(type)) return err(`invalid connection type "${type}" in the type field`);
    if (f.length < (type === 'local' ? 4 : 5)) return err(`end-of-line before authentication method`);
    const databases = f[1];
    const users = f[2];
    let k = 3;
    let address: HbaAddress | undefined;
    if (type !== 'local') {
      const a = word(k++)!;
      if (a === 'all' || a === 'samehost' || a === 'samenet') address = { kind: a };
      else if (a.includes('/')) {
        const [ip, bits] = a.split('/');
        const n = numericAddress(ip);
        const prefix = Number(bits);
        if (!n || !/^\d+$/.test(bits) || prefix > (n.family === 4 ? 32 : 128))
          return err(`invalid IP mask "${a}" in the address field`);
        address = { kind: 'cidr', address: n.address, prefix, family: n.family };
      } else if (numericAddress(a)) {
        const n = numericAddress(a)!;
        const mask = word(k++);
        const prefix = mask === undefined ? undefined : maskToPrefix(mask);
        if (prefix === undefined) return err(`invalid IP mask "${mask ?? ''}" after address "${a}" in the mask field`);
        address = { kind: 'cidr', address: n.address, prefix, family: n.family };
      } else {
        address = { kind: 'hostname', name: a };
      }
    }
    const method = word(k++);
    if (method === undefined) return err('end-of-line before authentication method');
    if (!METHODS.has(method)) return err(`invalid authentication method "${method}" in the method field`);
    const options = new Map<string, string>();
    for (; k < f.length; k++) {
      const opt = f[k].map((x) => x.name).join(',');
      const eq = opt.indexOf('=');
      if (eq <= 0) return err(`authentication option not in name=value format: ${opt}`);
      options.set(opt.slice(0, eq), opt.slice(eq + 1));
    }
    if (type === 'hostssl' && method === 'cert') options.set('clientcert', 'verify-full');
    records.push({ line, type: type as HbaConnType, databases, users, address, method: method as HbaMethod, options });
  });
  return { records, diagnostics };
}

export function loadPoolHba(file: string): HbaLoad {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return {
      records: [],
      diagnostics: [
        {
          severity: 'error',
          file,
          line: 0,
          message: `could not open configuration file "${file}": ${(e as Error).message}`,
        },
      ],
    };
  }
  return parsePoolHba(text, file);
}
