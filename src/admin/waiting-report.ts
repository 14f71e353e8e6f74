// SHOW pool_waiting (pgpool-ts): the clients waiting for a free child, first in line
// first, as the supervisor's front door has them (docs/behaviour.md#show). pgpool has no
// such report: its waiting clients sit unseen in the kernel's listen queue. Pure.
import { pgpoolTime } from './process-report.js';
import type { Report } from './show-commands.js';

export interface WaitingClient {
  readonly host: string;
  readonly port: number | undefined;
  /** From the startup packet, once it has been read. */
  readonly user?: string;
  readonly database?: string;
  /** ms epoch it started waiting. */
  readonly since: number;
  /** In admin_users (known only with admin_reserved_children, from the startup packet). */
  readonly admin?: boolean;
}

export const WAITING_COLUMNS = ['client_host', 'client_port', 'username', 'database', 'waiting_since', 'admin_user'];

export function waitingReport(clients: readonly WaitingClient[]): Report {
  return {
    columns: WAITING_COLUMNS,
    rows: clients.map((c) => [
      c.host,
      c.port === undefined ? '' : String(c.port),
      c.user ?? '',
      c.database ?? '',
      pgpoolTime(c.since),
      c.admin === undefined ? '' : c.admin ? 'yes' : 'no',
    ]),
  };
}
