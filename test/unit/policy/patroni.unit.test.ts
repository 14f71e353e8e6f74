// Following Patroni (docs/behaviour.md#patroni): GET /cluster read defensively and mapped
// onto the configured backends by host and port.
import { describe, expect, it } from 'vitest';
import { parseCluster, slotsFor, topology, type PatroniMember } from '../../../src/policy/patroni.js';

/** Patroni 3's answer for a two-member cluster (fields it adds are ignored). */
const cluster = (leaderState = 'running', replica: Record<string, unknown> = {}) => ({
  members: [
    {
      name: 'm0',
      role: 'leader',
      state: leaderState,
      api_url: 'http://127.0.0.1:8008/patroni',
      host: '127.0.0.1',
      port: 5432,
      timeline: 2,
    },
    {
      name: 'm1',
      role: 'replica',
      state: 'streaming',
      host: '127.0.0.1',
      port: 5433,
      timeline: 2,
      lag: 1024,
      ...replica,
    },
  ],
  scope: 'demo',
});
const backends = [
  { id: 0, host: '127.0.0.1', port: 5433 },
  { id: 1, host: '127.0.0.1', port: 5432 },
];

describe('Patroni topology', () => {
  it('maps the leader, the serving replica and its lag onto backends by host and port', () => {
    const t = topology(parseCluster(cluster()), backends);
    expect(t.leader).toBe(1);
    expect([...t.alive]).toEqual([
      [0, true],
      [1, true],
    ]);
    expect([...t.lag]).toEqual([[0, 1024]]);
    expect(t.unmatched).toEqual([]);
  });

  it.each<[string, ReturnType<typeof cluster>, number | undefined, boolean[]]>([
    ['a stopped leader is no leader', cluster('stopped'), undefined, [true, false]],
    ['a crashed replica does not serve', cluster('running', { state: 'crashed' }), 1, [false, true]],
    ['a replica whose lag is unknown', cluster('running', { lag: 'unknown' }), 1, [true, true]],
  ])('%s', (_name, body, leader, alive) => {
    const t = topology(parseCluster(body), backends);
    expect(t.leader).toBe(leader);
    expect(backends.map((b) => t.alive.get(b.id))).toEqual(alive);
  });

  it('counts an unknown lag as behind every threshold, and names members pgpool.conf does not', () => {
    const t = topology(parseCluster(cluster('running', { lag: 'unknown' })), backends);
    expect(t.lag.get(0)).toBe(Number.MAX_SAFE_INTEGER);
    const one = topology(parseCluster(cluster()), [backends[1]]);
    expect(one.unmatched.map((m) => m.name)).toEqual(['m1']);
    // A member gone from the list is down.
    expect(topology(parseCluster({ members: [] }), backends).alive.get(0)).toBe(false);
  });

  it('refuses what is not Patroni’s shape', () => {
    expect(() => parseCluster({})).toThrow('no "members" list in the answer');
    expect(() => parseCluster({ members: [{ name: 'x' }] })).toThrow(/a member without name, host or port/);
  });
});

describe('slots for members pgpool.conf does not name', () => {
  const member = (name: string, port: number): PatroniMember => ({
    name,
    role: 'replica',
    state: 'streaming',
    host: '10.0.0.9',
    port,
    lag: 0,
  });

  it.each<[string, number[], PatroniMember[], [string, number][]]>([
    ['after node 0', [0], [member('m1', 5433)], [['m1', 1]]],
    [
      'the gaps first, in member order',
      [0, 2],
      [member('a', 1), member('b', 2)],
      [
        ['a', 1],
        ['b', 3],
      ],
    ],
    ['none named: from node 0', [], [member('a', 1)], [['a', 0]]],
  ])('%s', (_name, used, members, expected) => {
    const added = slotsFor(members, used);
    expect(added.map((a) => [a.name, a.id])).toEqual(expected);
    expect(added[0]).toMatchObject({ host: '10.0.0.9', port: members[0].port });
  });

  it('gives nothing past node 127', () => {
    const used = Array.from({ length: 127 }, (_, i) => i);
    expect(slotsFor([member('a', 1), member('b', 2)], used).map((a) => a.id)).toEqual([127]);
  });
});
