// The dynamic process management policy with simulated checks (no real time).
import { describe, expect, it } from 'vitest';
import {
  initialChildren,
  selectVictims,
  spareCheck,
  STRATEGY_PACE,
  type SpareLimits,
  type Strategy,
} from '../../../src/policy/spare-children.js';

const cfg = (strategy: Strategy, over: Partial<SpareLimits> = {}): SpareLimits => ({
  num_init_children: 12,
  min_spare_children: 2,
  max_spare_children: 4,
  process_management_strategy: strategy,
  ...over,
});

describe('initial children', () => {
  it('static starts them all; dynamic starts max_spare (aggressive) or min_spare', () => {
    expect(initialChildren('static', cfg('gentle'))).toBe(12);
    expect(initialChildren('dynamic', cfg('aggressive'))).toBe(4);
    expect(initialChildren('dynamic', cfg('gentle'))).toBe(2);
    expect(initialChildren('dynamic', cfg('lazy'))).toBe(2);
  });
});

describe('spawning', () => {
  it('spawns (min_spare − idle) + ⌊max_spare / 4⌋ when idle < min_spare (pgpool observed: 4 children, 3 busy → 2 more)', () => {
    expect(spareCheck(4, 1, 0, cfg('aggressive')).decision).toEqual({ kind: 'spawn', count: 2 });
  });

  it('never goes beyond num_init_children', () => {
    expect(spareCheck(11, 0, 0, cfg('gentle')).decision).toEqual({ kind: 'spawn', count: 1 });
    expect(spareCheck(12, 0, 0, cfg('gentle')).decision).toEqual({ kind: 'none' });
  });

  it('resets the over-spare counter whenever idle is not above max_spare', () => {
    expect(spareCheck(6, 3, 17, cfg('gentle'))).toEqual({ decision: { kind: 'none' }, highLoadCounter: 0 });
  });
});

describe('retiring, per strategy', () => {
  it.each(['aggressive', 'gentle', 'lazy'] as const)(
    '%s waits its threshold, then retires at its pace and count',
    (strategy) => {
      const { threshold, step, oneShot } = STRATEGY_PACE[strategy];
      let counter = 0;
      const retiredAt: Array<[number, number]> = [];
      for (let check = 1; check <= threshold + 3 * step; check++) {
        const r = spareCheck(30, 20, counter, cfg(strategy, { num_init_children: 30 }));
        counter = r.highLoadCounter;
        if (r.decision.kind === 'retire') retiredAt.push([check, r.decision.count]);
      }
      const firstCheck = Math.ceil(threshold / step) * step;
      expect(retiredAt[0]).toEqual([firstCheck, Math.min(16, oneShot)]);
      expect(retiredAt.map(([c]) => c).every((c, i, a) => i === 0 || c - a[i - 1] === step)).toBe(true);
    },
  );

  it('aggressive retires after ≈50 s (25 checks of 2 s), gentle after ≈120 s, lazy after ≈300 s', () => {
    const firstRetire = (s: Strategy) => {
      let counter = 0;
      for (let check = 1; ; check++) {
        const r = spareCheck(10, 8, counter, cfg(s));
        counter = r.highLoadCounter;
        if (r.decision.kind === 'retire') return check * 2;
      }
    };
    expect([firstRetire('aggressive'), firstRetire('gentle'), firstRetire('lazy')]).toEqual([52, 120, 300]);
  });

  it('retires only the excess over max_spare', () => {
    const r = spareCheck(10, 5, 59, cfg('gentle'));
    expect(r.decision).toEqual({ kind: 'retire', count: 1 });
  });
});

describe('victim choice', () => {
  const cands = [
    { id: 1, pooled: 2 },
    { id: 2, pooled: 1 },
    { id: 3, pooled: 0 },
    { id: 4, pooled: 3 },
    { id: 5, pooled: 0 },
  ];
  it('aggressive takes the first ones in slot order, whatever they hold', () => {
    expect(selectVictims(cands, 2, 'aggressive')).toEqual([1, 2]);
  });
  it('gentle and lazy prefer children holding fewer pooled connections', () => {
    expect(selectVictims(cands, 2, 'gentle')).toEqual([3, 5]);
    expect(selectVictims(cands, 1, 'lazy')).toEqual([3]);
  });
});
