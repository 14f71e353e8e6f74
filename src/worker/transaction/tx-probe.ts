// The probe at the end of a transaction that may have changed session state
// (docs/transaction-pooling.md#session-state-carried-over): what the client's session now
// holds on the backend, and under pin_policy = error the pinning state undone and refused.
import {
  ident,
  isSinglePrepare,
  probeQuery,
  readProbe,
  restoreSql,
  UNDO_PINS_SQL,
  type CarriedState,
  type PinReason,
} from '../../policy/session-state.js';
import type { Logger } from '../../logging/logger.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { poolerError } from '../../protocol/errors.js';

export interface ProbeOutcome {
  /** The client's state now, to carry to its next connection. */
  readonly state: CarriedState;
  /** What keeps the client on this connection (none under pin_policy = error). */
  readonly pins: readonly PinReason[];
  /** pin_policy = error: the 0A000 the client gets before its ReadyForQuery. */
  readonly refused?: Buffer;
}

type OwnQuery = (sql: string, onStatus?: (name: string, value: string) => void) => Promise<Array<Array<string | null>>>;

/**
 * Runs the probe with `query` (the pooler's own query on the held connection). A startup
 * setting it no longer finds was RESET (RESET ALL, DISCARD ALL): on a direct connection it
 * would be back at its startup value, so it is set again and the client hears its value
 * (`told`; docs/transaction-pooling.md#startup-parameters).
 */
export async function probeSession(
  query: OwnQuery,
  customNames: Iterable<string>,
  policy: 'pin' | 'error',
  startup: ReadonlyMap<string, string>,
  told: (name: string, value: string) => void,
): Promise<ProbeOutcome> {
  const [row] = await query(probeQuery(customNames));
  const probed = readProbe(row ?? []);
  const state = await withStartup(query, probed, startup, told);
  if (probed.pins.length === 0 || policy === 'pin') return { state, pins: probed.pins };
  const multi = [...state.sqlPrepared].filter(([, text]) => !isSinglePrepare(text)).map(([name]) => name);
  await query([UNDO_PINS_SQL, ...multi.map((n) => `DEALLOCATE ${ident(n)}`)].join('; '));
  const sqlPrepared = new Map([...state.sqlPrepared].filter(([n]) => !multi.includes(n)));
  return {
    state: { settings: state.settings, sqlPrepared },
    pins: [],
    refused: errorResponse(poolerError('PIN_REFUSED', { feature: probed.pins.join(', ') })),
  };
}

async function withStartup(
  query: OwnQuery,
  state: CarriedState,
  startup: ReadonlyMap<string, string>,
  told: (name: string, value: string) => void,
): Promise<CarriedState> {
  const missing = [...startup].filter(([name]) => !state.settings.has(name));
  if (missing.length === 0) return { settings: state.settings, sqlPrepared: state.sqlPrepared };
  const settings = new Map(state.settings);
  for (const [name, value] of missing) settings.set(name, value);
  const sql = restoreSql(state, { settings, sqlPrepared: state.sqlPrepared });
  if (sql) await query(sql, told);
  return { settings, sqlPrepared: state.sqlPrepared };
}

/** Logs a client's first pins (once per session, as the pin policy says): true when it did. */
export function logPinned(log: Logger, backendPid: number, pins: readonly PinReason[]): boolean {
  if (pins.length === 0) return false;
  log.info({ backendPid, reasons: pins.join(', ') }, 'client pinned to its backend connection');
  return true;
}
