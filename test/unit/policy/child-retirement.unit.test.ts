// When a child exits on its own: child_max_connections and child_life_time.
import { describe, expect, it } from 'vitest';
import { exitAfterSession, lifeTimeDelay } from '../../../src/policy/child-retirement.js';

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
