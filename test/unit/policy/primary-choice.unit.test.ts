// Primary detection's decision: pgpool's find_primary_node() over the probes' answers.
import { describe, expect, it } from 'vitest';
import { alwaysPrimary, choosePrimary, type ProbeResult } from '../../../src/policy/primary-choice.js';

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
