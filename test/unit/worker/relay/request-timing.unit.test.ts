// Query and transaction timing as the relay sees requests and ReadyForQuery.
import { describe, expect, it } from 'vitest';
import { DurationCounts } from '../../../../src/metrics/duration-histogram.js';
import { RequestTiming } from '../../../../src/worker/relay/request-timing.js';

describe('request timing', () => {
  it('pairs each ReadyForQuery with its request, pipelined ones included, and ends transactions at status I', () => {
    const q = new DurationCounts();
    const t = new DurationCounts();
    const timing = new RequestTiming(q, t);
    const I = 0x49;
    const T = 0x54;
    timing.now = 0;
    timing.sent(); // BEGIN
    timing.now = 1;
    timing.ready(T);
    timing.now = 10;
    timing.sent(); // SELECT
    timing.now = 14;
    timing.ready(T);
    timing.now = 20;
    timing.sent(); // COMMIT and two pipelined autocommit queries
    timing.sent();
    timing.sent();
    timing.now = 22;
    timing.ready(I);
    timing.ready(I);
    timing.ready(I);
    timing.ready(I); // an answer to nothing (a reset's): ignored
    expect(q.count).toBe(5);
    expect(q.sum).toBeCloseTo((1 + 4 + 2 + 2 + 2) / 1000);
    expect(t.count).toBe(3);
    expect(t.sum).toBeCloseTo((22 + 2 + 2) / 1000);
  });

  it('counts, without timing, requests beyond the ring and keeps later pairs right', () => {
    const q = new DurationCounts();
    const timing = new RequestTiming(q, new DurationCounts());
    timing.now = 0;
    for (let i = 0; i < 300; i++) timing.sent();
    timing.now = 5;
    for (let i = 0; i < 300; i++) timing.ready(0x49);
    expect(q.count).toBe(256);
    timing.now = 10;
    timing.sent();
    timing.now = 13;
    timing.ready(0x49);
    expect(q.count).toBe(257);
    expect(q.sum).toBeCloseTo((256 * 5 + 3) / 1000);
  });
});
