// Primary detection's decision: pgpool's find_primary_node() over the probes' answers, and
// detach_false_primary's verify_backend_node_status() over the standbys' WAL receivers.
import { describe, expect, it } from 'vitest';
import {
  alwaysPrimary,
  choosePrimary,
  conninfoHostPort,
  falsePrimaries,
  type ProbeResult,
  type WalReceiver,
} from '../../../src/policy/primary-choice.js';

const probes = (...r: ProbeResult[]) => r.map((result, id) => ({ id, result }));

describe('choosePrimary', () => {
  it.each([
    ['one primary, one standby', probes('primary', 'standby'), 0],
    ['the primary is node 1', probes('standby', 'primary'), 1],
    ['nobody answered', probes('invalid', 'invalid'), undefined],
    ['only standbys (primary down, nothing promoted)', probes('standby', 'standby'), undefined],
    ['two primaries and a standby: the last found (highest id) wins', probes('primary', 'standby', 'primary'), 2],
    ['two primaries, no standby: the lowest id stays', probes('invalid', 'primary', 'primary'), 1],
    ['a single node that is a primary', probes('primary'), 0],
    ['no nodes', [], undefined],
  ] as const)('%s', (_name, p, want) => {
    expect(choosePrimary(p)).toBe(want);
  });
});

describe('alwaysPrimary', () => {
  const flags: Record<number, string> = {
    0: 'ALLOW_TO_FAILOVER',
    1: 'DISALLOW_TO_FAILOVER|ALWAYS_PRIMARY',
    2: 'ALWAYS_PRIMARY',
  };
  it('names the lowest flagged node, or none', () => {
    expect(alwaysPrimary((id) => flags[id] ?? '', [0, 1, 2])).toBe(1);
    expect(alwaysPrimary((id) => flags[id] ?? '', [0])).toBeUndefined();
    expect(alwaysPrimary(() => ' ALWAYS_PRIMARY ', [3])).toBe(3);
  });
});

describe('falsePrimaries', () => {
  const address = (id: number) => ({ host: '127.0.0.1', port: 5432 + id });
  const streams = (standby: number, from: number, streaming = true): WalReceiver => ({
    standby,
    streaming,
    host: '127.0.0.1',
    port: String(5432 + from),
  });

  it.each<[string, number[], number[], WalReceiver[], number[]]>([
    ['one primary', [1], [0], [streams(0, 1)], []],
    ['two primaries, no standby: the lowest id stays', [0, 1], [], [], [1]],
    ['two primaries, the standby streams from node 2', [1, 2], [0], [streams(0, 2)], [1]],
    ['two primaries, the standby streams from node 1', [1, 2], [0], [streams(0, 1)], [2]],
    ['two primaries, two standbys split: nothing decided', [1, 2], [0, 3], [streams(0, 1), streams(3, 2)], []],
    ['two primaries, the standby not streaming: nothing decided', [1, 2], [0], [streams(0, 2, false)], []],
  ])('%s', (_name, primaries, standbys, receivers, invalid) => {
    expect(falsePrimaries(primaries, standbys, receivers, address).invalid).toEqual(invalid);
  });

  it('says why a primary is not the one its standbys stream from', () => {
    const { lines } = falsePrimaries([1, 2], [0], [streams(0, 2)], address);
    expect(lines).toEqual([
      'verify_backend_node_status: primary 1 does not connect to standby 0 (pgpool.conf backend: (host="127.0.0.1" port=5433) does not match PostgreSQL primary_conninfo: (host="127.0.0.1" port=5434))',
      'verify_backend_node_status: primary 1 owns only 0 standbys out of 1',
    ]);
  });

  it('matches a socket-directory backend with a conninfo without host, and reads quoted conninfo values', () => {
    const socketOrTcp = (id: number) => (id === 1 ? { host: '/var/run/postgresql', port: 5432 } : address(id));
    const r = { standby: 0, streaming: true, ...conninfoHostPort("user=postgres passfile='/x y/.pgpass' port=5432") };
    expect(falsePrimaries([1, 2], [0], [r], socketOrTcp).invalid).toEqual([2]);
    expect(conninfoHostPort("host='a b' port = 7 dbname=replication")).toEqual({ host: 'a b', port: '7' });
    expect(conninfoHostPort('hostaddr=10.0.0.1')).toEqual({ host: '10.0.0.1', port: '' });
  });
});
