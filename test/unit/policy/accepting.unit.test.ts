// Who accepts: workers with an idle child, the supervisor only when none does (or always
// with reserved_connections), and waiting clients before new ones.
import { describe, expect, it } from 'vitest';
import { planAccepting, type AcceptingView } from '../../../src/policy/accepting.js';

const view = (v: Partial<AcceptingView>): AcceptingView => ({
  free: [1, 1],
  listening: [false, false],
  waiting: 0,
  workersAccept: true,
  ...v,
});

describe('planAccepting', () => {
  it.each([
    ['workers with an idle child get the listeners', {}, [0, 1], false],
    ['only those not already accepting', { listening: [true, false] }, [1], false],
    [
      'one accepting worker is enough for the supervisor to stop',
      { free: [0, 0], listening: [true, false] },
      [],
      false,
    ],
    ['no idle child anywhere: the supervisor accepts', { free: [0, 0] }, [], true],
    ['a count below 0 (sockets on their way) is no idle child', { free: [-1, 0] }, [], true],
    ['clients waiting: freed children take them first', { waiting: 2 }, [], true],
    ['waiting clients, a worker still accepting', { waiting: 1, listening: [true, false] }, [], false],
    ['reserved_connections: the supervisor alone', { workersAccept: false, listening: [false, false] }, [], true],
  ] as const)('%s', (_name, v, grant, supervisorAccepts) => {
    expect(planAccepting(view(v))).toEqual({ grant, supervisorAccepts });
  });
});
