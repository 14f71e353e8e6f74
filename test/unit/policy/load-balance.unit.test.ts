// The load-balance node choice, pgpool's select_load_balancing_node(): redirect lists
// with their precedence and ratios, weights (0 never chosen, 1:3 about 1:3), down nodes,
// and prefer_lower_delay_standby; randomness fixed by a sequence of draws.
import { describe, expect, it } from 'vitest';
import {
  parseRedirectList,
  readOnlyNode,
  selectLoadBalancingNode,
  type LbInput,
  type LbNode,
} from '../../../src/policy/load-balance.js';

const node = (id: number, weight = 1, more: Partial<LbNode> = {}): LbNode => ({
  id,
  alive: true,
  weight,
  delayed: false,
  delay: 0,
  ...more,
});

const input = (more: Partial<LbInput> = {}): LbInput => ({
  nodes: [node(0), node(1), node(2)],
  primary: 0,
  main: 0,
  user: 'alice',
  database: 'app',
  applicationName: 'psql',
  lists: { user: [], database: [], app: [] },
  preferLowerDelay: false,
  ...more,
});

/** Draws `values` in turn, then fails: a test says exactly how many draws the choice may take. */
const draws =
  (...values: number[]) =>
  () => {
    if (values.length === 0) throw new Error('one draw too many');
    return values.shift()!;
  };

const lists = (l: Partial<LbInput['lists']>) => ({ user: [], database: [], app: [], ...l });

describe('parseRedirectList', () => {
  it('reads regex:target(ratio) entries, anchored and case-insensitive', () => {
    const l = parseRedirectList('psql:primary, myapp1:1(0.3),myapp2:standby, ^db.*$:2');
    expect(l.map((e) => [e.pattern.source, e.target, e.ratio])).toEqual([
      ['^psql$', 'primary', 1],
      ['^myapp1$', 1, 0.3],
      ['^myapp2$', 'standby', 1],
      ['^db.*$', 2, 1],
    ]);
    expect(l[0].pattern.test('PSQL')).toBe(true);
    expect(l[0].pattern.test('psql2')).toBe(false);
    expect(parseRedirectList('')).toEqual([]);
  });

  it.each([
    ['nocolon', 'expected regex:target'],
    ['a:replica', 'invalid target "replica"'],
    ['a:1(1.5)', 'must be between 0 and 1'],
    ['(:1', 'invalid regular expression'],
  ])('refuses %s', (text, message) => {
    expect(() => parseRedirectList(text)).toThrow(message);
  });
});

describe('selectLoadBalancingNode', () => {
  it.each([
    ['weights 1:1:1, draw 0.1 → node 0', input(), [0.1], 0],
    ['draw 0.5 → node 1', input(), [0.5], 1],
    ['draw 0.9 → node 2', input(), [0.9], 2],
    ['a 0-weight node is never chosen', input({ nodes: [node(0, 0), node(1), node(2)] }), [0.0], 1],
    ['a down node is never chosen', input({ nodes: [node(0), node(1, 1, { alive: false }), node(2)] }), [0.6], 2],
    ['all weights 0: the main node', input({ nodes: [node(0, 0), node(1, 0)], main: 0 }), [0.3], 0],
    ['app psql → primary', input({ lists: lists({ app: parseRedirectList('psql:primary') }), primary: 1 }), [0.99], 1],
    [
      'app beats database beats user',
      input({
        lists: lists({
          user: parseRedirectList('alice:0'),
          database: parseRedirectList('app:1'),
          app: parseRedirectList('psql:2'),
        }),
      }),
      [0.5],
      2,
    ],
    [
      'database beats user',
      input({ lists: lists({ user: parseRedirectList('alice:0'), database: parseRedirectList('app:1') }) }),
      [0.5],
      1,
    ],
    [
      'an empty application name does not match the app list',
      input({
        applicationName: '',
        lists: lists({ app: parseRedirectList('.*:2'), user: parseRedirectList('alice:1') }),
      }),
      [0.5],
      1,
    ],
    [
      'ratio 0.3, draw 0.2: the named node',
      input({ lists: lists({ app: parseRedirectList('psql:1(0.3)') }) }),
      [0.2],
      1,
    ],
    [
      'ratio 0.3, draw 0.5: by weight among the others (fresh draw 0.9 → node 2)',
      input({ lists: lists({ app: parseRedirectList('psql:1(0.3)') }) }),
      [0.5, 0.9],
      2,
    ],
    [
      'ratio 0.3, draw 0.5: fresh draw 0.1 → node 0, never the excluded node 1',
      input({ lists: lists({ app: parseRedirectList('psql:1(0.3)') }) }),
      [0.5, 0.4],
      0,
    ],
    [
      'standby: the primary is excluded',
      input({ lists: lists({ app: parseRedirectList('psql:standby') }) }),
      [0.5, 0.1],
      1,
    ],
    [
      'standby(0.4), draw over it: the primary',
      input({ lists: lists({ app: parseRedirectList('psql:standby(0.4)') }) }),
      [0.7],
      0,
    ],
    [
      'a named node that is down is no suggestion',
      input({
        nodes: [node(0), node(1), node(2, 1, { alive: false })],
        lists: lists({ app: parseRedirectList('psql:2') }),
      }),
      [0.9],
      1,
    ],
    [
      'an out-of-range node id means the main node',
      input({ lists: lists({ app: parseRedirectList('psql:9') }) }),
      [0.9],
      0,
    ],
    [
      'prefer_lower_delay_standby: a delayed choice gives way to the least-delayed standby',
      input({
        nodes: [node(0), node(1, 1, { delayed: true, delay: 900 }), node(2, 1, { delay: 10 })],
        preferLowerDelay: true,
      }),
      [0.5, 0.0],
      2,
    ],
    [
      'prefer_lower_delay_standby, a delayed named node: the least-delayed standby at once',
      input({
        nodes: [node(0), node(1, 1, { delayed: true, delay: 900 }), node(2, 1, { delayed: true, delay: 500 })],
        lists: lists({ app: parseRedirectList('psql:1') }),
        preferLowerDelay: true,
      }),
      [0.0],
      2,
    ],
    [
      'prefer_lower_delay_standby off: a delayed node may still be chosen (the router then sends to the primary)',
      input({ nodes: [node(0), node(1, 1, { delayed: true, delay: 900 }), node(2)] }),
      [0.5],
      1,
    ],
  ] as const)('%s', (_name, i, seq, want) => {
    expect(selectLoadBalancingNode(i, draws(...seq))).toBe(want);
  });

  it('weights 1:3 give about 1:3 of 400 sessions; a 0-weight node none', () => {
    const i = input({ nodes: [node(0, 0), node(1, 1), node(2, 3)] });
    let seed = 42;
    // A fixed linear congruential sequence: the same counts every run.
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const counts = [0, 0, 0];
    for (let s = 0; s < 400; s++) counts[selectLoadBalancingNode(i, rand)]++;
    expect(counts[0]).toBe(0);
    expect(counts[1] + counts[2]).toBe(400);
    expect(counts[2] / counts[1]).toBeGreaterThan(2.4);
    expect(counts[2] / counts[1]).toBeLessThan(3.8);
  });
});

describe('readOnlyNode (following Patroni, no leader known)', () => {
  it.each<[string, LbNode[], number, number | undefined]>([
    ['weights 1:3, a low draw: the first', [node(0, 1), node(1, 3)], 0.2, 0],
    ['weights 1:3, a high draw: the second', [node(0, 1), node(1, 3)], 0.3, 1],
    ['a delayed node is never chosen', [node(0, 1, { delayed: true }), node(1, 1)], 0.0, 1],
    ['a down node is never chosen', [node(0, 1, { alive: false }), node(1, 1)], 0.0, 1],
    ['weight 0 alone still serves reads', [node(0, 0)], 0.9, 0],
    ['every node delayed: none', [node(0, 1, { delayed: true })], 0.0, undefined],
    ['no node: none', [], 0.0, undefined],
  ])('%s', (_name, nodes, draw, expected) => {
    expect(readOnlyNode(nodes, () => draw)).toBe(expected);
  });
});
