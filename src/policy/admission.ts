// Admission decisions (docs/behaviour.md#admission), pure: state in, decision out.

export interface AdmissionLimits {
  readonly num_init_children: number;
  readonly reserved_connections: number;
  readonly listen_backlog_multiplier: number;
}

/** The listen() backlog and the longest queue of clients waiting for a child. */
export function backlogFor(cfg: AdmissionLimits): number {
  return Math.min(cfg.num_init_children * cfg.listen_backlog_multiplier, 10000);
}

/**
 * At accept, before anything is read: with reserved_connections = r > 0, the client
 * that would be number c > num_init_children − r is refused at once.
 * `connected` counts clients already accepted and not yet finished.
 */
export function admitOnAccept(connected: number, cfg: AdmissionLimits): 'accept' | 'reject-reserved' {
  const c = connected + 1;
  if (cfg.reserved_connections > 0 && c > cfg.num_init_children - cfg.reserved_connections) return 'reject-reserved';
  return 'accept';
}

/** Once the first packet is in: hand it to a free child, let it wait in line, or refuse (line full). */
export function placeClient(
  freeChildren: number,
  waiting: number,
  cfg: AdmissionLimits,
): 'dispatch' | 'wait' | 'reject-queue-full' {
  if (freeChildren > 0 && waiting === 0) return 'dispatch';
  if (waiting < backlogFor(cfg)) return 'wait';
  return 'reject-queue-full';
}

/** Free children in all workers; a worker's count is below 0 while more sockets are on their way to it than it has. */
export function totalFree(free: readonly number[]): number {
  let n = 0;
  for (const f of free) if (f > 0) n += f;
  return n;
}

/** The worker to take a client: the one with the most free children (-1 when none has one). */
export function chooseWorker(free: readonly number[]): number {
  let best = -1;
  for (let w = 0; w < free.length; w++) if (free[w] > 0 && (best < 0 || free[w] > free[best])) best = w;
  return best;
}

/** The worker to host a new child: the one hosting the fewest. */
export function leastLoaded(childCounts: readonly number[]): number {
  let best = 0;
  for (let w = 1; w < childCounts.length; w++) if (childCounts[w] < childCounts[best]) best = w;
  return best;
}
