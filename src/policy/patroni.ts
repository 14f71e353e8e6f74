// Following Patroni (docs/behaviour.md#patroni), pure: GET /cluster's member list read
// defensively, and what it says about each configured backend (matched by host and port):
// alive or not, the leader, the replication lag in bytes; members pgpool.conf does not name.
import type { SlotAddress } from '../config/discovered-backends.js';
import { MAX_NODES } from './failover.js';

/** A member of Patroni's /cluster answer. */
export interface PatroniMember {
  readonly name: string;
  /** leader, replica, sync_standby, standby_leader (master in Patroni before 2.0). */
  readonly role: string;
  /** running, streaming, stopped, starting, crashed, … */
  readonly state: string;
  readonly host: string;
  readonly port: number;
  /** Bytes behind the leader; undefined when Patroni says unknown (or for the leader). */
  readonly lag: number | undefined;
}

/** Members Patroni reports in these states serve clients. */
const SERVING = new Set(['running', 'streaming']);

/** The members of a GET /cluster body; throws when it is not Patroni's shape. */
export function parseCluster(body: unknown): PatroniMember[] {
  const members = (body as { members?: unknown } | null)?.members;
  if (!Array.isArray(members)) throw new Error('no "members" list in the answer');
  return members.map((m: Record<string, unknown>) => {
    if (typeof m?.name !== 'string' || typeof m.host !== 'string' || typeof m.port !== 'number')
      throw new Error(`a member without name, host or port: ${JSON.stringify(m)}`);
    return {
      name: m.name,
      role: typeof m.role === 'string' ? m.role : '',
      state: typeof m.state === 'string' ? m.state : '',
      host: m.host,
      port: m.port,
      lag: typeof m.lag === 'number' ? m.lag : undefined,
    };
  });
}

export interface Backend {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

export interface Topology {
  /** The backend Patroni calls leader (and which serves); undefined for none. */
  readonly leader: number | undefined;
  /** Per configured backend: whether Patroni has it serving. */
  readonly alive: ReadonlyMap<number, boolean>;
  /** Per serving standby: bytes behind (MAX_SAFE_INTEGER when Patroni does not know). */
  readonly lag: ReadonlyMap<number, number>;
  /** Members no backend_hostnameN/backend_portN names. */
  readonly unmatched: readonly PatroniMember[];
}

const isLeader = (m: PatroniMember) => m.role === 'leader' || m.role === 'master';

export function topology(members: readonly PatroniMember[], backends: readonly Backend[]): Topology {
  const alive = new Map<number, boolean>();
  const lag = new Map<number, number>();
  const matched = new Set<PatroniMember>();
  let leader: number | undefined;
  for (const b of backends) {
    const m = members.find((x) => x.port === b.port && x.host.toLowerCase() === b.host.toLowerCase());
    if (m) matched.add(m);
    const serving = m !== undefined && SERVING.has(m.state);
    alive.set(b.id, serving);
    if (!m || !serving) continue;
    if (isLeader(m)) leader = b.id;
    else lag.set(b.id, m.lag ?? Number.MAX_SAFE_INTEGER);
  }
  return { leader, alive, lag, unmatched: members.filter((m) => !matched.has(m)) };
}

/** A member Patroni alone names, given the backend slot it takes. */
export interface AddedBackend extends SlotAddress {
  readonly name: string;
}

/**
 * Slots for members no backend names: the lowest free node ids, in Patroni's member order
 * (so the same cluster gives the same ids on every pgpool-ts); members left over when every
 * slot is taken get none.
 */
export function slotsFor(unmatched: readonly PatroniMember[], used: readonly number[]): AddedBackend[] {
  const taken = new Set(used);
  const added: AddedBackend[] = [];
  let id = 0;
  for (const m of unmatched) {
    while (id < MAX_NODES && taken.has(id)) id++;
    if (id >= MAX_NODES) break;
    taken.add(id);
    added.push({ id, host: m.host, port: m.port, name: m.name });
  }
  return added;
}
