// What every child is doing, as pgpool reports it (docs/behaviour.md#processes):
// the per-child facts workers send the supervisor, and the pool_pools / pool_processes
// rows built from them. Pure.
import { localTimestamp } from '../local-time.js';

/** One backend connection slot of a child: cached, in use by its client, or empty. */
export interface SlotReport {
  readonly database: string;
  readonly user: string;
  readonly backendPid: number;
  /** ms epoch the backend connection was made. */
  readonly createdAt: number;
  /** Times handed to a client (pgpool's pool_counter). */
  readonly counter: number;
  /** Its client is attached now. */
  readonly connected: boolean;
  readonly protocolMajor: number;
  readonly protocolMinor: number;
}

export interface ChildReport {
  readonly childId: number;
  readonly startedAt: number;
  /** Sessions finished (client_connection_count). */
  readonly sessions: number;
  readonly status: 'Wait for connection' | 'Connecting' | 'Idle' | 'Idle in transaction' | 'Execute command';
  readonly slots: readonly SlotReport[];
  readonly clientConnectedAt?: number;
  readonly clientDisconnectedAt?: number;
  readonly clientHost?: string;
  readonly clientPort?: number;
  /** ms the client has been idle, while one is attached. */
  readonly clientIdleMs?: number;
  /** Reserved for admin_users now (the supervisor's word: policy/admission.ts reservedChildren). */
  readonly reserved?: boolean;
  /** pool_mode = transaction: why its client keeps its backend connection ('' when it does not). */
  readonly pinned?: string;
}

/** A report's timestamp cell: empty when the event has not happened. */
export const pgpoolTime = (ms: number | undefined): string => (ms ? localTimestamp(ms) : '');

/** The child id of a slot no child occupies (pgpool: pool_pid 0). */
const EMPTY_SLOT_ID = 0;

/**
 * Every one of num_init_children slots, as pgpool's SHOW pool_processes / pool_pools and
 * pcp_proc_info list them: in dynamic mode (or while a child is being replaced) the slots
 * without a child follow the children, with pool_pid 0 and nothing else set.
 */
export function withEmptySlots(children: readonly ChildReport[], numInitChildren: number): ChildReport[] {
  const out = [...children];
  while (out.length < numInitChildren)
    out.push({ childId: EMPTY_SLOT_ID, startedAt: 0, sessions: 0, status: 'Wait for connection', slots: [] });
  return out;
}

/** start_time: a slot without a child shows the epoch, as pgpool's zeroed shared memory does. */
const startTime = (c: ChildReport): string =>
  c.childId === EMPTY_SLOT_ID ? localTimestamp(0) : pgpoolTime(c.startedAt);

// prettier-ignore
export const POOL_POOLS_COLUMNS = [
  'pool_pid', 'start_time', 'client_connection_count', 'pool_id', 'backend_id', 'database', 'username',
  'backend_connection_time', 'client_connection_time', 'client_disconnection_time', 'client_idle_duration',
  'majorversion', 'minorversion', 'pool_counter', 'pool_backendpid', 'pool_connected', 'status', 'load_balance_node',
  'client_host', 'client_port', 'statement'
] as const;

// prettier-ignore
export const POOL_PROCESSES_COLUMNS = [
  'pool_pid', 'start_time', 'client_connection_count', 'database', 'username', 'backend_connection_time',
  'pool_counter', 'status'
] as const;

/** Pool slots per child in SHOW pool_pools: max_pool, and one row even when it is 0. */
export const slotsPerChild = (maxPool: number): number => Math.max(1, maxPool);

/**
 * SHOW pool_pools' slots in use (its rows with a user name) without building its rows:
 * for the metrics, where formatting 21 columns × 1000 children × max_pool would cost a
 * scrape most of its time.
 */
export function walkUsedSlots(
  children: readonly ChildReport[],
  maxPool: number,
  each: (c: ChildReport, slot: number, s: SlotReport) => void,
): void {
  const perChild = slotsPerChild(maxPool);
  for (const c of children) {
    const n = Math.min(c.slots.length, perChild);
    for (let slot = 0; slot < n; slot++) each(c, slot, c.slots[slot]);
  }
}

/** Rows of SHOW pool_pools / pcp_proc_info: one per child × max_pool slot (one backend). */
export function poolPoolsRows(children: readonly ChildReport[], maxPool: number): string[][] {
  const rows: string[][] = [];
  for (const c of children) {
    for (let slot = 0; slot < slotsPerChild(maxPool); slot++) {
      const s = c.slots[slot];
      const common = [String(c.childId), startTime(c), String(c.sessions), String(slot), '0'];
      if (!s) {
        rows.push([...common, '', '', '', '', '', '0', '0', '0', '0', '0', '0', c.status, '0', '', '', '']);
        continue;
      }
      const attached = s.connected;
      rows.push([
        ...common,
        s.database,
        s.user,
        pgpoolTime(s.createdAt),
        attached ? pgpoolTime(c.clientConnectedAt) : '',
        attached ? '' : pgpoolTime(c.clientDisconnectedAt),
        attached ? String(Math.floor((c.clientIdleMs ?? 0) / 1000)) : '0',
        String(s.protocolMajor),
        String(s.protocolMinor),
        String(s.counter),
        String(s.backendPid),
        attached ? '1' : '0',
        c.status,
        attached ? '1' : '0',
        attached ? (c.clientHost ?? '') : '',
        attached && c.clientPort !== undefined ? String(c.clientPort) : '',
        '',
      ]);
    }
  }
  return rows;
}

/** Rows of SHOW pool_processes: one per child, with the slot its client uses; `reserved` and `pinned` add pgpool-ts's columns. */
export function poolProcessesRows(children: readonly ChildReport[], reserved = false, pinned = false): string[][] {
  return children.map((c) => {
    const s = c.slots.find((x) => x.connected);
    const row = [
      String(c.childId),
      startTime(c),
      String(c.sessions),
      s?.database ?? '',
      s?.user ?? '',
      s ? pgpoolTime(s.createdAt) : '',
      s ? String(s.counter) : '',
      c.status,
    ];
    if (reserved) row.push(c.reserved ? 'yes' : 'no');
    if (pinned) row.push(c.pinned ?? '');
    return row;
  });
}
