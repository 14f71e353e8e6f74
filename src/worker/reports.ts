// What a worker tells the supervisor about its children for SHOW pool_* and PCP
// (docs/behaviour.md#processes): one ChildReport per child, its status from pgpoolStatus().
import type { ChildReport, SlotReport } from '../admin/process-report.js';
import type { ServerConnection } from '../backend/server-connection.js';
import { pgpoolStatus, type Child } from './child.js';
import { TxRelay } from './transaction/tx-relay.js';

function slotOf(conn: ServerConnection, connected: boolean): SlotReport {
  return {
    database: conn.database,
    user: conn.user,
    backendPid: conn.pid,
    createdAt: conn.createdAt,
    counter: conn.timesUsed,
    connected,
    protocolMajor: conn.startupKey.readUInt16BE(4),
    protocolMinor: conn.startupKey.readUInt16BE(6),
  };
}

/** pgpool's view of a child; `now` from performance.now(). */
export function childReport(c: Child, now: number): ChildReport {
  const s = c.session;
  const relay = s?.relay;
  const slots = c.pool.cache.entries.map((conn) => slotOf(conn, false));
  if (s?.conn) slots.unshift(slotOf(s.conn, true));
  return {
    childId: c.id,
    startedAt: c.startedAt,
    sessions: c.sessions,
    status: pgpoolStatus(c.state),
    slots,
    clientConnectedAt: s?.startedAt,
    clientDisconnectedAt: c.lastDisconnect,
    clientHost: s?.clientAddress,
    clientPort: s?.clientPort,
    clientIdleMs: relay ? relay.clientIdleFor(now) : undefined,
    pinned: relay instanceof TxRelay ? relay.pins.join(', ') : undefined,
  };
}
