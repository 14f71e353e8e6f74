// A worker refuses a listen grant that came without its handle, and says so: otherwise the
// supervisor believes it accepts while clients wait in the kernel's listen queue.
import { describe, expect, it } from 'vitest';
import type { FromWorker } from '../../../src/ipc/messages.js';
import { Listening } from '../../../src/worker/listening.js';

describe('Listening', () => {
  it('a grant without a handle: not listening, and the supervisor is told to give it again', () => {
    const pushed: FromWorker[] = [];
    const l = new Listening({
      accepted: () => {},
      send: () => {},
      report: (m) => pushed.push(m),
      idle: () => true,
      warn: () => {},
    });
    l.take(0, 16, undefined, 1, false);
    expect(l.open).toBe(false);
    expect(l.reportsMayWait).toBe(false);
    expect(pushed).toEqual([{ t: 'accepting', open: false, granted: false }]);
  });
});
