// An extended-protocol cycle's routing pieces (docs/behaviour.md#routing): what the
// session router collects while it walks the cycle's messages, and the route that follows.
import type { Destination } from '../../policy/route-decision.js';
import { FrontendCode } from '../../protocol/codes.js';
import { bindFields } from '../../protocol/frontend-messages.js';
import type { CycleRoute, RoutedStatement } from './session-router.js';

export const STATEMENT = 0x53; // 'S' in a Describe or Close (anything else names a portal)
export const DEST_BIT: Record<Destination, number> = { primary: 1, lb: 2, both: 4 };
/** The one destination a set of bits names, when it names exactly one. */
const ONLY: Partial<Record<number, Destination>> = { 1: 'primary', 2: 'lb', 4: 'both' };

/** An extended cycle's routing so far: its statements, the destinations seen as bits, the names it parsed. */
export interface ExtendedRouting {
  readonly statements: RoutedStatement[];
  dests: number;
  parsedHere: string | undefined;
  parsedMore: string[] | undefined;
}

/** The cycle's route from what its messages said. */
export function extendedRoute(messages: readonly Buffer[], complete: boolean, acc: ExtendedRouting): CycleRoute {
  const { statements, dests } = acc;
  // A batch waiting on a Flush (postgres.js's describe-first) may start on the standby:
  // later messages of the cycle stay there only while they are reads for it (readForStandbyNow).
  const waitsOnFlush = messages[messages.length - 1][0] === FrontendCode.Flush;
  const only = ONLY[dests];
  if ((!complete && !(waitsOnFlush && dests & DEST_BIT.lb)) || only === undefined) return { to: 'primary', statements };
  return { to: only === 'both' && !complete ? 'primary' : only, statements };
}

/** Whether a Bind in `messages` binds `portal`. */
export function boundIn(messages: readonly Buffer[], portal: string): boolean {
  for (const b of messages) if (b[0] === FrontendCode.Bind && bindFields(b).portal === portal) return true;
  return false;
}
