// Where an extended-protocol cycle goes from the destinations its statements collected:
// one destination for the whole cycle, complete up to its Sync, or the primary; and a
// cycle that opens a transaction and then reads (pgJDBC's BEGIN in the first Sync), whose
// reads stay on the standby while its BEGIN reaches both nodes.
import { describe, expect, it } from 'vitest';
import type { StatementClass } from '../../../../src/policy/statement-class.js';
import {
  DEST_BIT,
  extendedRoute,
  newExtendedRouting,
  noteDestination,
  type ExtendedRouting,
} from '../../../../src/worker/routing/extended-cycle.js';
import type { RoutedStatement } from '../../../../src/worker/routing/session-router.js';

const msg = (type: string) => Buffer.from([type.charCodeAt(0), 0, 0, 0, 4]);
const PARSE_TO_SYNC = ['P', 'B', 'D', 'E', 'S'].map(msg);
const WAITS_ON_FLUSH = ['P', 'D', 'H'].map(msg);
const UNFINISHED = ['P', 'B'].map(msg);

const acc = (...d: Array<keyof typeof DEST_BIT>): ExtendedRouting => ({
  ...newExtendedRouting(),
  dests: d.reduce((bits, x) => bits | DEST_BIT[x], 0),
});

describe('extendedRoute', () => {
  it.each([
    ['every statement a read for the standby', PARSE_TO_SYNC, true, acc('lb'), 'lb'],
    ['transaction control or settings only: both nodes', PARSE_TO_SYNC, true, acc('both'), 'both'],
    ['a write', PARSE_TO_SYNC, true, acc('primary'), 'primary'],
    ['a read and a write: the primary', PARSE_TO_SYNC, true, acc('lb', 'primary'), 'primary'],
    ['a read and a setting: the primary', PARSE_TO_SYNC, true, acc('lb', 'both'), 'primary'],
    ['nothing routed (a Sync alone): the primary', [msg('S')], true, acc(), 'primary'],
    ['a read waiting on a Flush starts on the standby', WAITS_ON_FLUSH, false, acc('lb'), 'lb'],
    ['both nodes waiting on a Flush: the primary', WAITS_ON_FLUSH, false, acc('both'), 'primary'],
    ['a read not up to its Sync nor waiting on a Flush: the primary', UNFINISHED, false, acc('lb'), 'primary'],
  ] as const)('%s', (_name, messages, complete, routing, to) => {
    expect(extendedRoute(messages, complete, routing)).toEqual({ to, statements: [] });
  });
});

const statement = (cls: Partial<StatementClass>): RoutedStatement => ({
  cls: { serializable: false, ...cls } as StatementClass,
  sql: '',
  read: cls.tx === undefined,
  multi: false,
});
const BEGIN = statement({ tx: 'begin' });
const SERIALIZABLE_BEGIN = statement({ tx: 'begin', serializable: true });
const SET = statement({});
const READ = statement({});

/** A cycle's messages as the router walks them: each with the statement it records (if any) and its destination. */
type Step = readonly [RoutedStatement | undefined, keyof typeof DEST_BIT | undefined];
const walk = (steps: readonly Step[]): ExtendedRouting => {
  const a = newExtendedRouting();
  steps.forEach(([s, d], i) => {
    if (s) a.statements.push(s);
    noteDestination(a, i, d ? DEST_BIT[d] : 0);
  });
  return a;
};
// P B E of a BEGIN (Bind and Execute follow the Parse), then P B D E of a read, then Sync.
const beginThen = (first: RoutedStatement, second: RoutedStatement, to: keyof typeof DEST_BIT): Step[] => [
  [first, 'both'],
  [undefined, undefined],
  [undefined, undefined],
  [second, to],
  [undefined, undefined],
  [undefined, undefined],
  [undefined, undefined],
  [undefined, undefined],
];
const EIGHT = Array.from({ length: 8 }, (_, i) => msg(i === 7 ? 'S' : 'P'));

describe('extendedRoute: a BEGIN, then reads', () => {
  it.each([
    ['reads stay on the standby; the BEGIN also reaches the primary', beginThen(BEGIN, READ, 'lb'), true, true, 3],
    ['in a transaction already: the primary', beginThen(BEGIN, READ, 'lb'), true, false, undefined],
    [
      'a serializable BEGIN: its reads are the primary’s',
      beginThen(SERIALIZABLE_BEGIN, READ, 'lb'),
      true,
      true,
      undefined,
    ],
    ['a setting first, not a BEGIN: the primary', beginThen(SET, READ, 'lb'), true, true, undefined],
    ['a BEGIN then a write: the primary', beginThen(BEGIN, READ, 'primary'), true, true, undefined],
    ['not up to its Sync: the primary', beginThen(BEGIN, READ, 'lb'), false, true, undefined],
    [
      'a statement for both nodes after the read: the primary',
      [...beginThen(BEGIN, READ, 'lb').slice(0, 7), [SET, 'both'] as Step],
      true,
      true,
      undefined,
    ],
  ] as const)('%s', (_name, steps, complete, beginMayLead, beginFirst) => {
    const routing = walk(steps);
    const route = extendedRoute(EIGHT, complete, routing, beginMayLead);
    if (beginFirst === undefined) expect(route.beginFirst).toBeUndefined();
    else expect(route).toEqual({ to: 'lb', statements: routing.statements, beginFirst });
    if (beginFirst === undefined) expect(route.to).toBe('primary');
  });
});
