// The worker's once-a-second sweep: client_idle_limit for every session (reloadable and
// changeable per session, so read each time). pgpool checks it in its select() loop.
import type { Children } from './children.js';

const SWEEP_MS = 1000;

export function startJanitor(children: Children): { stop(): void } {
  const timer = setInterval(() => {
    const now = performance.now();
    for (const child of children.values()) child.session?.enforceIdleLimit(now);
  }, SWEEP_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
