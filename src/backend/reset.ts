// Between two clients (docs/behaviour.md#reset): drain what the departed client still had
// in flight, end an unsynced extended-protocol batch or a COPY FROM STDIN, then run
// reset_query_list. Reads and updates the relay's StreamState as it goes.
import { serialize } from 'pg-protocol';
import { BackendCode } from '../protocol/codes.js';
import { cstrings } from '../protocol/message-reader.js';
import { MessageStream } from '../protocol/message-stream.js';
import type { StreamState } from '../protocol/stream-state.js';
import { TxStatus } from '../protocol/tx-status.js';
import type { ServerConnection } from './server-connection.js';

export interface ResetPlan {
  /** reset_query_list, in order. */
  readonly queries: readonly string[];
  /** How long each reply may take. */
  readonly timeoutMs: number;
  /** Sees each reset query as it goes (log_per_node_statement). */
  readonly sending?: (query: string) => void;
}

export type ResetOutcome = { readonly clean: true } | { readonly clean: false; readonly why: string };

const COPY_FAIL_TEXT = 'client disconnected during COPY';

/** Resets a connection in state `resetting`; clean when it is idle and trustworthy afterwards. */
export async function resetConnection(
  conn: ServerConnection,
  stream: StreamState,
  plan: ResetPlan,
): Promise<ResetOutcome> {
  if (conn.closed) return { clean: false, why: 'the connection is closed' };
  const messages = new MessageStream(conn.socket);
  let outcome: ResetOutcome;
  try {
    outcome = await drainAndReset(conn, stream, plan, messages);
  } catch (e) {
    outcome = { clean: false, why: (e as Error).message };
  }
  // Unsolicited bytes after the last reply: do not trust the connection.
  if (messages.detach().length > 0) {
    conn.close();
    outcome = { clean: false, why: 'PostgreSQL sent more than it was asked for' };
  }
  return outcome;
}

async function drainAndReset(
  conn: ServerConnection,
  stream: StreamState,
  plan: ResetPlan,
  messages: MessageStream,
): Promise<ResetOutcome> {
  const socket = conn.socket;
  // The client left in the middle of COPY FROM STDIN: end it; PostgreSQL answers with an error and ReadyForQuery.
  if (stream.inCopyIn) socket.write(serialize.copyFail(COPY_FAIL_TEXT));
  if (stream.unsynced) {
    socket.write(serialize.sync());
    stream.requests++;
    stream.unsynced = false;
  }
  while (stream.pending > 0) {
    const m = await messages.next(plan.timeoutMs);
    if (m.type === BackendCode.ReadyForQuery) {
      stream.replies++;
      stream.txStatus = m.body[0];
      stream.inCopyIn = false;
    } else if (m.type === BackendCode.CopyInResponse) {
      socket.write(serialize.copyFail(COPY_FAIL_TEXT));
    }
  }
  for (const q of plan.queries) {
    // pgpool skips an ABORT entry when the connection is not in a transaction.
    if (q.toUpperCase() === 'ABORT' && stream.txStatus === TxStatus.Idle) continue;
    plan.sending?.(q);
    socket.write(serialize.query(q));
    let failed = false;
    for (;;) {
      const m = await messages.next(plan.timeoutMs);
      if (m.type === BackendCode.ErrorResponse) failed = true;
      else if (m.type === BackendCode.ParameterStatus) {
        const [name, value] = cstrings(m.body);
        conn.setParam(name, value);
      } else if (m.type === BackendCode.ReadyForQuery) {
        stream.txStatus = m.body[0];
        break;
      }
    }
    if (failed) return { clean: false, why: `reset query "${q}" failed` };
  }
  if (stream.txStatus !== TxStatus.Idle) return { clean: false, why: 'still in a transaction after the reset' };
  return conn.closed ? { clean: false, why: 'PostgreSQL closed the connection' } : { clean: true };
}
