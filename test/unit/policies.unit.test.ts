// Pure decisions: admission, worker choice, cache lookup/eviction/expiry, child retirement.
import { describe, expect, it } from 'vitest';
import { admitOnAccept, backlogFor, chooseWorker, leastLoaded, placeClient } from '../../src/policy/admission.js';
import { lookup, victim, type CacheEntryView } from '../../src/policy/cache-choice.js';
import { exitAfterSession, lifeTimeDelay } from '../../src/policy/child-retirement.js';
import { sortedStartupPacket } from '../../src/protocol/frontend-read.js';

const limits = { num_init_children: 4, reserved_connections: 0, listen_backlog_multiplier: 2 };

describe('admission', () => {
  it('uses min(num_init_children × listen_backlog_multiplier, 10000) as the backlog', () => {
    expect(backlogFor(limits)).toBe(8);
    expect(backlogFor({ ...limits, num_init_children: 3000, listen_backlog_multiplier: 5 })).toBe(10000);
  });

  it('refuses at once beyond num_init_children − reserved_connections', () => {
    const cfg = { ...limits, reserved_connections: 1 };
    expect([0, 1, 2, 3, 4].map((c) => admitOnAccept(c, cfg))).toEqual([
      'accept',
      'accept',
      'accept',
      'reject-reserved',
      'reject-reserved',
    ]);
    expect(admitOnAccept(100, limits)).toBe('accept');
  });

  it('dispatches to a free child, keeps first-come-first-served order, and caps the line', () => {
    expect(placeClient(1, 0, limits)).toBe('dispatch');
    expect(placeClient(1, 2, limits)).toBe('wait'); // others were first
    expect(placeClient(0, 7, limits)).toBe('wait');
    expect(placeClient(0, 8, limits)).toBe('reject-queue-full');
  });

  it('chooses the worker with the most free children, and hosts new children in the least loaded', () => {
    expect(chooseWorker([0, 2, 3, 1])).toBe(2);
    expect(chooseWorker([0, 0])).toBe(-1);
    expect(leastLoaded([3, 2, 2])).toBe(1);
  });
});

const key = (params: Array<[string, string]>, version = 0x30000) => sortedStartupPacket(version, params);
const entry = (
  user: string,
  database: string,
  releasedAt: number,
  extra: Array<[string, string]> = [],
): CacheEntryView => ({
  user,
  database,
  releasedAt,
  startupKey: key([['user', user], ['database', database], ...extra]),
});

describe('connection cache choices (pgpool §5)', () => {
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
      cache = [...cache, { user: u, database: 'd', releasedAt: t, startupKey: k }];
    }
    expect(outcome).toEqual(['A:new', 'B:new', 'A:reuse', 'C:evicts B', 'A:reuse', 'B:evicts C', 'C:evicts A']);
  });
});

describe('child retirement', () => {
  it('child_max_connections: exits once that many sessions are done', () => {
    expect(exitAfterSession(1, { child_max_connections: 2 })).toBeUndefined();
    expect(exitAfterSession(2, { child_max_connections: 2 })).toBe('max_connections');
    expect(exitAfterSession(1000, { child_max_connections: 0 })).toBeUndefined();
  });

  it('child_life_time: never for an unused child, else child_life_time + 1 s after going idle', () => {
    expect(lifeTimeDelay(0, { child_life_time: 300 })).toBeUndefined();
    expect(lifeTimeDelay(3, { child_life_time: 5 })).toBe(6000);
    expect(lifeTimeDelay(3, { child_life_time: 0 })).toBeUndefined();
  });
});

describe('worker V8 flags', () => {
  it('add a 1 MB young generation unless a size is already given', async () => {
    const { workerExecArgv } = await import('../../src/supervisor/worker-pool.js');
    expect(workerExecArgv(['--enable-source-maps'], '')).toEqual(['--enable-source-maps', '--max-semi-space-size=1']);
    expect(workerExecArgv(['--max-semi-space-size=8'], '')).toEqual(['--max-semi-space-size=8']);
    expect(workerExecArgv([], '--max-semi-space-size=4 --trace-gc')).toEqual([]);
  });
});
