// A child's cache choices: lookup, eviction and pgpool's observed sequence.
import { describe, expect, it } from 'vitest';
import { isReplication, lookup, victim, type CacheEntryView } from '../../../src/policy/cache-choice.js';

import { sortedStartupPacket } from '../../../src/protocol/frontend-read.js';

const key = (params: Array<[string, string]>, version = 0x30000) => sortedStartupPacket(version, params);
const entry = (
  user: string,
  database: string,
  releasedAt: number,
  extra: Array<[string, string]> = [],
): CacheEntryView => ({
  node: 0,
  user,
  database,
  releasedAt,
  startupKey: key([['user', user], ['database', database], ...extra]),
});

describe('connection cache choices (docs/behaviour.md#cache)', () => {
  const entries = [
    entry('a', 'db', 10_000),
    entry('b', 'db', 5_000),
    entry('a', 'db2', 7_000, [['application_name', 'x']]),
  ];

  it('hits on an identical startup packet, is stale on the same user/db with other parameters', () => {
    expect(
      lookup(
        entries,
        'b',
        'db',
        key([
          ['user', 'b'],
          ['database', 'db'],
        ]),
      ),
    ).toEqual({ kind: 'hit', index: 1 });
    expect(
      lookup(
        entries,
        'a',
        'db2',
        key([
          ['user', 'a'],
          ['database', 'db2'],
        ]),
      ),
    ).toEqual({ kind: 'stale', index: 2 });
    expect(
      lookup(
        entries,
        'c',
        'db',
        key([
          ['user', 'c'],
          ['database', 'db'],
        ]),
      ),
    ).toEqual({ kind: 'miss' });
  });

  it('is stale when the entry is to another node than the session needs (the primary moved)', () => {
    const k = key([
      ['user', 'b'],
      ['database', 'db'],
    ]);
    expect(lookup(entries, 'b', 'db', k, 0)).toEqual({ kind: 'hit', index: 1 });
    expect(lookup(entries, 'b', 'db', k, 1)).toEqual({ kind: 'stale', index: 1 });
  });

  it('evicts the entry returned longest ago, ties to the lowest index', () => {
    expect(victim(entries)).toBe(1);
    expect(victim([entry('a', 'x', 3), entry('b', 'x', 3)])).toBe(0);
  });

  it("reproduces pgpool 4.3.5's observed sequence with max_pool = 2: A,B,A,C,A,B,C", () => {
    // [obs435] A,B,A(reuse),C(evicts B),A(reuse),B(evicts C),C(evicts A)
    let cache: CacheEntryView[] = [];
    const outcome: string[] = [];
    let t = 0;
    for (const u of ['A', 'B', 'A', 'C', 'A', 'B', 'C']) {
      t += 1;
      const k = key([
        ['user', u],
        ['database', 'd'],
      ]);
      const r = lookup(cache, u, 'd', k);
      if (r.kind === 'hit') {
        outcome.push(`${u}:reuse`);
        cache.splice(r.index, 1);
      } else if (cache.length >= 2) {
        const v = victim(cache);
        outcome.push(`${u}:evicts ${cache[v].user}`);
        cache.splice(v, 1);
      } else outcome.push(`${u}:new`);
      cache = [...cache, { node: 0, user: u, database: 'd', releasedAt: t, startupKey: k }];
    }
    expect(outcome).toEqual(['A:new', 'B:new', 'A:reuse', 'C:evicts B', 'A:reuse', 'B:evicts C', 'C:evicts A']);
  });
});

describe('replication connections', () => {
  it.each([
    ['database', true],
    ['true', true],
    ['ON', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['off', false],
    ['No', false],
    ['0', false],
  ])('replication=%s is a walsender: %s', (value, walsender) => {
    expect(
      isReplication([
        ['user', 'u'],
        ['replication', value],
      ]),
    ).toBe(walsender);
  });

  it('without the parameter it is an ordinary connection', () => {
    expect(isReplication([['user', 'u']])).toBe(false);
  });
});
