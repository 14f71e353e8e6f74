// Which pool_hba.conf record applies to a client (docs/behaviour.md#authentication): the first
// that matches connection type, database, user and address. Pure, except that host-name
// records need DNS, which the caller supplies.
import net from 'node:net';
import { expandV6, type HbaName, type HbaRecord } from '../config/pool-hba.js';

export interface HbaClient {
  /** Came in over a unix socket. */
  readonly local: boolean;
  readonly ssl: boolean;
  /** The peer's IP address (TCP only). */
  readonly address?: string;
  readonly database: string;
  readonly user: string;
}

export interface HbaEnv {
  /** ssl = on: hostssl records can match at all. */
  readonly sslEnabled: boolean;
  /** This host's interface addresses with their prefix lengths, for samehost/samenet. */
  readonly interfaces: readonly { readonly address: string; readonly prefix: number }[];
  /** The client's host name, verified by a forward lookup, or undefined. */
  readonly hostnameOf: (address: string) => Promise<string | undefined>;
  /** Records skipped for a reason worth logging (samegroup, +group, hostssl without ssl). */
  readonly note?: (record: HbaRecord, why: string) => void;
}

/** An IPv4-mapped IPv6 address (dual-stack sockets) as the IPv4 address it is. */
export function plainAddress(a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1] : a;
}

function bytesOf(a: string): number[] | undefined {
  const fam = net.isIP(a);
  if (fam === 4) return a.split('.').map(Number);
  if (fam === 6) return expandV6(a.replace(/%.*$/, ''));
  return undefined;
}

export function inNetwork(address: string, network: string, prefix: number): boolean {
  const a = bytesOf(plainAddress(address));
  const n = bytesOf(network);
  if (!a || !n || a.length !== n.length) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((a[byte] & mask) !== (n[byte] & mask)) return false;
  }
  return true;
}

const keyword = (n: HbaName, word: string) => !n.quoted && n.name === word;

function databaseMatches(r: HbaRecord, c: HbaClient, env: HbaEnv): boolean {
  for (const d of r.databases) {
    if (keyword(d, 'all')) return true;
    if (keyword(d, 'sameuser')) {
      if (c.database === c.user) return true;
      continue;
    }
    if (keyword(d, 'samegroup') || keyword(d, 'samerole')) {
      env.note?.(r, `"${d.name}" is not supported by pool_hba`);
      continue;
    }
    if (d.name === c.database) return true;
  }
  return false;
}

function userMatches(r: HbaRecord, c: HbaClient, env: HbaEnv): boolean {
  for (const u of r.users) {
    if (keyword(u, 'all')) return true;
    if (!u.quoted && u.name.startsWith('+')) {
      env.note?.(r, `group membership ("${u.name}") is not supported by pool_hba`);
      continue;
    }
    if (u.name === c.user) return true;
  }
  return false;
}

async function addressMatches(r: HbaRecord, c: HbaClient, env: HbaEnv): Promise<boolean> {
  const a = r.address;
  if (!a || a.kind === 'all') return true;
  if (c.address === undefined) return false;
  const addr = plainAddress(c.address);
  switch (a.kind) {
    case 'cidr':
      return inNetwork(addr, a.address, a.prefix);
    case 'samehost':
      return env.interfaces.some((i) => inNetwork(addr, i.address, net.isIP(i.address) === 4 ? 32 : 128));
    case 'samenet':
      return env.interfaces.some((i) => inNetwork(addr, i.address, i.prefix));
    case 'hostname': {
      const name = await env.hostnameOf(addr);
      if (name === undefined) return false;
      const want = a.name.toLowerCase();
      const got = name.toLowerCase();
      return want.startsWith('.') ? got.endsWith(want) : got === want;
    }
  }
}

/** The first record that applies, or undefined (an implicit reject). */
export async function matchHba(
  records: readonly HbaRecord[],
  c: HbaClient,
  env: HbaEnv,
): Promise<HbaRecord | undefined> {
  for (const r of records) {
    if (r.type === 'local' ? !c.local : c.local) continue;
    if (r.type === 'hostssl') {
      if (!env.sslEnabled) {
        env.note?.(r, 'hostssl record with ssl = off never matches');
        continue;
      }
      if (!c.ssl) continue;
    }
    if (r.type === 'hostnossl' && c.ssl) continue;
    if (!databaseMatches(r, c, env) || !userMatches(r, c, env)) continue;
    if (!(await addressMatches(r, c, env))) continue;
    return r;
  }
  return undefined;
}
