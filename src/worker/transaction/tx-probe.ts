// The probe at the end of a transaction that may have changed session state
// (docs/transaction-pooling.md#session-state-carried-over): what the client's session now
// holds on the backend, and under pin_policy = error the pinning state undone and refused.
import {
  isSinglePrepare,
  probeQuery,
  readProbe,
  UNDO_PINS_SQL,
  type CarriedState,
  type PinReason,
} from '../../policy/session-state.js';
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

/** Runs the probe with `query` (the pooler's own query on the held connection). */
export async function probeSession(
  query: (sql: string) => Promise<Array<Array<string | null>>>,
  customNames: Iterable<string>,
  policy: 'pin' | 'error',
): Promise<ProbeOutcome> {
  const [row] = await query(probeQuery(customNames));
  const result = readProbe(row ?? []);
  if (result.pins.length === 0 || policy === 'pin') return { state: result, pins: result.pins };
  const multi = [...result.sqlPrepared].filter(([, text]) => !isSinglePrepare(text)).map(([name]) => name);
  await query([UNDO_PINS_SQL, ...multi.map((n) => `DEALLOCATE "${n.replace(/"/g, '""')}"`)].join('; '));
  const sqlPrepared = new Map([...result.sqlPrepared].filter(([n]) => !multi.includes(n)));
  return {
    state: { settings: result.settings, sqlPrepared },
    pins: [],
    refused: errorResponse(poolerError('PIN_REFUSED', { feature: result.pins.join(', ') })),
  };
}
