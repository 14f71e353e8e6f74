// The line of clients waiting for a child in transaction mode: first come first served,
// leaving from anywhere, deadlines read in one sweep.
import { describe, expect, it } from 'vitest';
import { WaitLine } from '../../../../src/worker/transaction/wait-line.js';

/** Pushes every name with its deadline; the places by name. */
function lineOf(entries: Array<[string, number]>) {
  const line = new WaitLine<string>();
  const places = new Map(entries.map(([name, deadline]) => [name, line.push(name, deadline)]));
  return { line, places };
}

describe('WaitLine', () => {
  it.each<[string, Array<[string, number]>, string[], string | undefined, number]>([
    ['nobody', [], [], undefined, 0],
    [
      'the first stays first',
      [
        ['a', 0],
        ['b', 0],
      ],
      [],
      'a',
      2,
    ],
    [
      'the head leaves',
      [
        ['a', 0],
        ['b', 0],
        ['c', 0],
      ],
      ['a'],
      'b',
      2,
    ],
    [
      'the middle leaves',
      [
        ['a', 0],
        ['b', 0],
        ['c', 0],
      ],
      ['b'],
      'a',
      2,
    ],
    [
      'all leave',
      [
        ['a', 0],
        ['b', 0],
      ],
      ['b', 'a'],
      undefined,
      0,
    ],
  ])('%s', (_name, entries, leaving, first, length) => {
    const { line, places } = lineOf(entries);
    for (const name of leaving) expect(line.remove(places.get(name)!)).toBe(true);
    expect(line.first()?.item).toBe(first);
    expect(line.length).toBe(length);
  });

  it('a place leaves once', () => {
    const { line, places } = lineOf([['a', 0]]);
    expect(line.remove(places.get('a')!)).toBe(true);
    expect(line.remove(places.get('a')!)).toBe(false);
    expect(line.length).toBe(0);
  });

  it.each<[number, string[], number]>([
    [99, [], 100],
    [100, ['a'], 150],
    [160, ['a', 'c'], 200],
    [500, ['a', 'c', 'd'], 0],
  ])('at %d the expired are %j and the next deadline %d (b never expires)', (now, expired, next) => {
    const { line } = lineOf([
      ['a', 100],
      ['b', 0],
      ['c', 150],
      ['d', 200],
    ]);
    expect(line.takeExpired(now)).toEqual(expired);
    expect(line.earliestDeadline()).toBe(next);
    expect(line.length).toBe(4 - expired.length);
    expect(line.first()?.item).toBe(expired.includes('a') ? 'b' : 'a');
  });

  it('a shorter deadline behind a longer one (query_wait_timeout reloaded) is found by the sweep', () => {
    const { line } = lineOf([
      ['a', 500],
      ['b', 120],
    ]);
    expect(line.earliestDeadline()).toBe(120);
    expect(line.takeExpired(130)).toEqual(['b']);
    expect(line.first()?.item).toBe('a');
  });

  it('keeps order through many comings and goings (the array is compacted behind the head)', () => {
    const line = new WaitLine<number>();
    const served: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) line.push(next++, 0);
      for (let i = 0; i < 5; i++) {
        const p = line.first()!;
        line.remove(p);
        served.push(p.item);
      }
    }
    expect(served).toEqual([...Array(250).keys()]);
    expect(line.length).toBe(100);
    expect(line.first()?.item).toBe(250);
  });

  it('drain gives everyone still waiting, in order, and empties the line', () => {
    const { line, places } = lineOf([
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
    line.remove(places.get('b')!);
    expect(line.drain()).toEqual(['a', 'c']);
    expect(line.length).toBe(0);
    expect(line.first()).toBeUndefined();
    expect(line.remove(places.get('a')!)).toBe(false);
  });
});
