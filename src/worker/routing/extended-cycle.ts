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
  /** The first message routed anywhere but both nodes (-1: none yet), and the statements before it. */
  split: number;
  leading: number;
  /** A message for both nodes came after `split`. */
  bothAfter: boolean;
}

export function newExtendedRouting(): ExtendedRouting {
  return {
    statements: [],
    dests: 0,
    parsedHere: undefined,
    parsedMore: undefined,
    split: -1,
    leading: 0,
    bothAfter: false,
  };
}

/** Message `i` of the cycle routes by `bit` (0: it follows its statement); its statement, if any, was recorded first. */
export function noteDestination(acc: ExtendedRouting, i: number, bit: number): void {
  acc.dests |= bit;
  if (bit === 0) return;
  if (bit === DEST_BIT.both) {
    if (acc.split >= 0) acc.bothAfter = true;
  } else if (acc.split < 0) {
    acc.split = i;
    acc.leading = acc.statements.length - 1;
  }
}

/**
 * The cycle's route from what its messages said: to the load-balance node only when every
 * statement in it is a read for it and the whole cycle (to its Sync) is here; to both
 * nodes when every statement is transaction control or a setting; else to the primary.
 * `beginMayLead`: no transaction is open (nor serializable by default), so a cycle that
 * opens one and then only reads — pgJDBC's BEGIN in the Sync of a transaction's first
 * statement — keeps its reads on the standby, the BEGIN reaching both nodes, as pgpool does.
 */
export function extendedRoute(
  messages: readonly Buffer[],
  complete: boolean,
  acc: ExtendedRouting,
  beginMayLead = false,
): CycleRoute {
  const { statements, dests } = acc;
  if (complete && beginMayLead && dests === (DEST_BIT.both | DEST_BIT.lb) && opensThenReads(acc))
    return { to: 'lb', statements, beginFirst: acc.split };
  // A batch waiting on a Flush (postgres.js's describe-first) may start on the standby:
  // later messages of the cycle stay there only while they are reads for it (readForStandbyNow).
  const waitsOnFlush = messages[messages.length - 1][0] === FrontendCode.Flush;
  const only = ONLY[dests];
  if ((!complete && !(waitsOnFlush && dests & DEST_BIT.lb)) || only === undefined) return { to: 'primary', statements };
  return { to: only === 'both' && !complete ? 'primary' : only, statements };
}

/** Plain BEGINs first (a serializable one makes the reads the primary's), then nothing more for both nodes. */
function opensThenReads(acc: ExtendedRouting): boolean {
  if (acc.split <= 0 || acc.bothAfter || acc.leading < 1) return false;
  for (let i = 0; i < acc.leading; i++) {
    const cls = acc.statements[i].cls;
    if (cls.tx !== 'begin' || cls.serializable) return false;
  }
  return true;
}

/** Whether a Bind in `messages` binds `portal`. */
export function boundIn(messages: readonly Buffer[], portal: string): boolean {
  for (const b of messages) if (b[0] === FrontendCode.Bind && bindFields(b).portal === portal) return true;
  return false;
}
