// The bench's arithmetic (bench/summary.mjs): what the README's ratios are made of.
import { describe, expect, it } from 'vitest';
import { median, roundOrder, summarize, type RunResult } from '../../../bench/summary.mjs';

describe('bench summary', () => {
  it('takes the median of finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5, Infinity])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('rotates the targets by one each round', () => {
    const t = ['direct', 'pgbouncer', 'pgpool2', 'pgpool-ts'];
    expect(roundOrder(t, 0)).toEqual(t);
    expect(roundOrder(t, 1)).toEqual(['pgbouncer', 'pgpool2', 'pgpool-ts', 'direct']);
    expect(roundOrder(t, 4)).toEqual(t);
  });

  it('divides within a round before taking the median, so a drifting machine does not skew ratios', () => {
    const run = (round: number, target: string, tps: number, extra: Partial<RunResult> = {}): RunResult => ({
      round,
      point: 'p',
      target,
      tps,
      cpuPer10k: tps / 100,
      rssMb: 10 + round,
      failed: 0,
      ...extra,
    });
    const results = [
      run(0, 'direct', 100),
      run(0, 'pgbouncer', 50),
      run(0, 'pgpool-ts', 70, { failed: 2 }),
      run(1, 'direct', 300),
      run(1, 'pgbouncer', 150),
      run(1, 'pgpool-ts', 140),
      run(2, 'direct', 200),
      run(2, 'pgbouncer', 100),
      run(2, 'pgpool-ts', 80, { failed: 1 }),
    ];
    const ts = summarize(results, ['direct', 'pgbouncer', 'pgpool-ts']).find((r) => r.target === 'pgpool-ts')!;
    // Per round 1.4, 0.933…, 0.8 against PgBouncer: median 0.933…, where median over median would say 0.8.
    expect(ts.vsPgbouncer).toBeCloseTo(140 / 150, 6);
    expect(ts.vsDirect).toBeCloseTo(140 / 300, 6);
    expect(ts.vsPgpool2).toBeNaN(); // not measured
    expect(ts.tps).toBe(80);
    expect(ts.cpuPer10k).toBe(0.8);
    expect(ts.rssMb).toBe(11);
    expect(ts.failed).toBe(3);
    expect(ts.errors).toBe(0);
  });

  it('leaves a round whose reference failed out of the ratio and counts failed runs', () => {
    const results: RunResult[] = [
      { round: 0, point: 'p', target: 'pgbouncer', tps: 100 },
      { round: 0, point: 'p', target: 'pgpool-ts', tps: 120 },
      { round: 1, point: 'p', target: 'pgbouncer', error: 'did not start' },
      { round: 1, point: 'p', target: 'pgpool-ts', tps: 500 },
      { round: 2, point: 'p', target: 'pgbouncer', tps: 100 },
      { round: 2, point: 'p', target: 'pgpool-ts', tps: 100 },
    ];
    const rows = summarize(results, ['pgbouncer', 'pgpool-ts']);
    expect(rows.find((r) => r.target === 'pgpool-ts')!.vsPgbouncer).toBeCloseTo(1.1, 6); // rounds 0 and 2: 1.2 and 1.0
    expect(rows.find((r) => r.target === 'pgbouncer')!.errors).toBe(1);
    expect(rows.find((r) => r.target === 'pgbouncer')!.tps).toBe(100);
  });
});
