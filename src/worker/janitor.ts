// The worker's once-a-second sweep: client_idle_limit for every session (reloadable and
// changeable per session, so read each time). pgpool checks it in its select() loop.
import type { Session } from './session/session.js';

const SWEEP_MS = 1000;

export function startJanitor(sessions: () => Iterable<Session>): { stop(): void } {
  const timer = setInterval(() => {
    const now = performance.now();
    for (const session of sessions()) session.enforceIdleLimit(now);
  }, SWEEP_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
