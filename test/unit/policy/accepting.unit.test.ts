// Who accepts: workers with an idle child once given the listeners, held while the
// supervisor's queue has clients (they go first); the supervisor only when no worker
// accepts (or always with reserved_connections).
import { describe, expect, it } from 'vitest';
import { planAccepting, type AcceptingView } from '../../../src/policy/accepting.js';

const view = (v: Partial<AcceptingView>): AcceptingView => ({
  free: [1, 1],
  granted: [false, false],
  listening: [false, false],
  waiting: 0,
  workersAccept: true,
  ...v,
});

describe('planAccepting', () => {
  it.each([
    ['workers with an idle child get the listeners', {}, [0, 1], false, false],
    ['only those not given them yet', { granted: [true, false], listening: [true, false] }, [1], false, false],
    [
      'given once: a worker that paused is not given them again',
      { free: [1, 0], granted: [true, true], listening: [false, false] },
      [],
      false,
      true,
    ],
    [
      'one accepting worker is enough for the supervisor to stop',
      { free: [0, 0], granted: [true, true], listening: [true, false] },
      [],
      false,
      false,
    ],
    ['no idle child anywhere: the supervisor accepts', { free: [0, 0] }, [], false, true],
    ['a count below 0 (sockets on their way) is no idle child', { free: [-1, 0] }, [], false, true],
    [
      'clients waiting: workers held, freed children take them first',
      { waiting: 2, granted: [true, true], listening: [false, false] },
      [],
      true,
      true,
    ],
    [
      'clients waiting, a worker not paused yet',
      { waiting: 1, granted: [true, true], listening: [true, false] },
      [],
      true,
      false,
    ],
    ['a worker given the listeners while clients wait gets the hold with them', { waiting: 1 }, [0, 1], true, false],
    [
      'a worker that lost its listeners is given them again',
      { granted: [true, false], listening: [true, false] },
      [1],
      false,
      false,
    ],
    [
      'reserved_connections: the supervisor alone',
      { workersAccept: false, waiting: 3, listening: [false, false] },
      [],
      false,
      true,
    ],
  ] as const)('%s', (_name, v, grant, hold, supervisorAccepts) => {
    expect(planAccepting(view(v))).toEqual({ grant, hold, supervisorAccepts });
  });
});
