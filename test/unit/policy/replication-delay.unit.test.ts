// The replication check's arithmetic: LSNs, each standby's delay and states, the
// thresholds that keep reads off a standby, and the log and SHOW renderings.
import { describe, expect, it } from 'vitest';
import {
  delayColumn,
  delayVerdict,
  lsnBytes,
  standbyDelayLine,
  standbyDelays,
  type ReplicationRow,
} from '../../../src/policy/replication-delay.js';

describe('lsnBytes', () => {
  it.each([
    ['0/0', 0],
    ['0/3000060', 0x3000060],
    ['1/0', 2 ** 32],
    ['16/B374D848', 0x16 * 2 ** 32 + 0xb374d848],
    ['FFFFFFFF/FFFFFFFF', 0xffffffff * 2 ** 32 + 0xffffffff],
    ['nonsense', undefined],
    ['1/2/3', undefined],
  ])('%s', (text, bytes) => expect(lsnBytes(text)).toBe(bytes));

  it('counts across a 4 GiB boundary as pg_wal_lsn_diff does (pgpool is 16 MiB off)', () => {
    expect(lsnBytes('1/10')! - lsnBytes('0/FFFFFFF0')!).toBe(0x20);
  });
});

const rows: ReplicationRow[] = [
  { applicationName: 'node1', state: 'streaming', syncState: 'async', replayLagUs: 2500 },
  { applicationName: 'node2', state: 'catchup', syncState: null, replayLagUs: null },
];

describe('standbyDelays', () => {
  const base = {
    primary: 0,
    standbys: [1, 2, 3],
    lsn: new Map([
      [0, 10_000],
      [1, 9_000],
      [2, 12_000],
    ]),
    rows,
    applicationName: (id: number) => (id === 3 ? '' : `node${id}`),
    byTime: false,
  };

  it('bytes behind (never below 0), states by exact application_name, NULL as empty', () => {
    expect(Object.fromEntries(standbyDelays(base))).toEqual({
      1: { replicationDelay: 1000, delayByTime: false, replicationState: 'streaming', replicationSyncState: 'async' },
      2: { replicationDelay: 0, delayByTime: false, replicationState: 'catchup', replicationSyncState: '' },
      // No position, no application name: no delay known, no states.
      3: { replicationDelay: 0, delayByTime: false, replicationState: '', replicationSyncState: '' },
    });
  });

  it('by time: replay_lag in µs, 0 when PostgreSQL reports none', () => {
    const d = standbyDelays({ ...base, byTime: true });
    expect(d.get(1)).toMatchObject({ replicationDelay: 2500, delayByTime: true });
    expect(d.get(2)).toMatchObject({ replicationDelay: 0, delayByTime: true });
  });

  it('states of a node that did not answer still come from the primary', () => {
    const d = standbyDelays({ ...base, lsn: new Map([[0, 10]]) });
    expect(d.get(1)).toMatchObject({ replicationDelay: 0, replicationState: 'streaming' });
  });
});

describe('delayVerdict', () => {
  const t = { delay_threshold: 1000, delay_threshold_by_time: 50 };
  it.each([
    ['bytes under the threshold', { replicationDelay: 1000, delayByTime: false }, t, 0],
    ['bytes over it', { replicationDelay: 1001, delayByTime: false }, t, -2],
    ['threshold 0 is off', { replicationDelay: 10 ** 9, delayByTime: false }, { ...t, delay_threshold: 0 }, 0],
    ['time under 50 ms', { replicationDelay: 50_000, delayByTime: true }, t, 0],
    ['time over 50 ms', { replicationDelay: 50_001, delayByTime: true }, t, -1],
    ['time is not compared with bytes', { replicationDelay: 5000, delayByTime: true }, t, 0],
  ] as const)('%s', (_n, node, thresholds, want) => expect(delayVerdict(node, thresholds)).toBe(want));
});

describe('renderings', () => {
  const t = { delay_threshold: 100, delay_threshold_by_time: 0 };
  const d = { replicationDelay: 1307488, delayByTime: false, replicationState: '', replicationSyncState: '' };
  it('log_standby_delay lines', () => {
    expect(standbyDelayLine(1, 0, d, 'if_over_threshold', t)).toBe(
      'Replication of node: 1 is behind 1307488 bytes from the primary server (node: 0)',
    );
    expect(standbyDelayLine(1, 0, { ...d, replicationDelay: 50 }, 'if_over_threshold', t)).toBeUndefined();
    expect(standbyDelayLine(1, 0, { ...d, replicationDelay: 50 }, 'always', t)).toContain('behind 50 bytes');
    expect(standbyDelayLine(1, 0, { ...d, replicationDelay: 0 }, 'always', t)).toBeUndefined();
    expect(standbyDelayLine(2, 0, d, 'none', t)).toBeUndefined();
    expect(standbyDelayLine(1, 0, { ...d, replicationDelay: 1_500_000, delayByTime: true }, 'always', t)).toBe(
      'Replication of node: 1 is behind 1.500000 second(s) from the primary server (node: 0)',
    );
  });
  it('SHOW pool_nodes replication_delay', () => {
    expect(delayColumn({ replicationDelay: 4096, delayByTime: false })).toBe('4096');
    expect(delayColumn({ replicationDelay: 1_500_000, delayByTime: true })).toBe('1.500000 second');
    expect(delayColumn({ replicationDelay: 2_000_000, delayByTime: true })).toBe('2.000000 seconds');
  });
});
