// Where an extended-protocol cycle goes from the destinations its statements collected:
// one destination for the whole cycle, complete up to its Sync, or the primary.
import { describe, expect, it } from 'vitest';
import { DEST_BIT, extendedRoute, type ExtendedRouting } from '../../../../src/worker/routing/extended-cycle.js';

const msg = (type: string) => Buffer.from([type.charCodeAt(0), 0, 0, 0, 4]);
const PARSE_TO_SYNC = ['P', 'B', 'D', 'E', 'S'].map(msg);
const WAITS_ON_FLUSH = ['P', 'D', 'H'].map(msg);
const UNFINISHED = ['P', 'B'].map(msg);

const acc = (...d: Array<keyof typeof DEST_BIT>): ExtendedRouting => ({
  statements: [],
  dests: d.reduce((bits, x) => bits | DEST_BIT[x], 0),
  parsedHere: undefined,
  parsedMore: undefined,
});

describe('extendedRoute', () => {
  it.each([
    ['every statement a read for the standby', PARSE_TO_SYNC, true, acc('lb'), 'lb'],
    ['transaction control or settings only: both nodes', PARSE_TO_SYNC, true, acc('both'), 'both'],
    ['a write', PARSE_TO_SYNC, true, acc('primary'), 'primary'],
    ['a read and a write: the primary', PARSE_TO_SYNC, true, acc('lb', 'primary'), 'primary'],
    ['a read and a BEGIN: the primary', PARSE_TO_SYNC, true, acc('lb', 'both'), 'primary'],
    ['nothing routed (a Sync alone): the primary', [msg('S')], true, acc(), 'primary'],
    ['a read waiting on a Flush starts on the standby', WAITS_ON_FLUSH, false, acc('lb'), 'lb'],
    ['both nodes waiting on a Flush: the primary', WAITS_ON_FLUSH, false, acc('both'), 'primary'],
    ['a read not up to its Sync nor waiting on a Flush: the primary', UNFINISHED, false, acc('lb'), 'primary'],
  ] as const)('%s', (_name, messages, complete, routing, to) => {
    expect(extendedRoute(messages, complete, routing)).toEqual({ to, statements: [] });
  });
});
