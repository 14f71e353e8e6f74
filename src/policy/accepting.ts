// Who accepts new clients (docs/behaviour.md#admission), pure: state in, plan out. A worker
// accepts while it has an idle child, as a pgpool child calls accept() only when idle (it
// pauses and resumes its listeners itself); the supervisor gives the listeners once, holds
// every worker while its queue has clients (a freed child takes the first in line, not a new
// client), accepts (and queues) only while no worker does, and always when the
// reserved_connections count, which must be one number for all workers, or
// admin_reserved_children, which reads who a waiting client is, is on.

export interface AcceptingView {
  /** Free children per worker, as the supervisor's child directory has them. */
  readonly free: readonly number[];
  /** Whether each worker has the listeners (given and not lost). */
  readonly granted: readonly boolean[];
  /** Whether each worker accepts now, as far as the supervisor knows. */
  readonly listening: readonly boolean[];
  /** Clients in the supervisor's queue. */
  readonly waiting: number;
  /** False while reserved_connections or admin_reserved_children > 0. */
  readonly workersAccept: boolean;
}

export interface AcceptingPlan {
  /** Workers to give the listeners to. */
  readonly grant: readonly number[];
  /** Whether workers must not accept: clients wait in the supervisor's queue. */
  readonly hold: boolean;
  /** Whether the supervisor accepts clients itself. */
  readonly supervisorAccepts: boolean;
}

export function planAccepting(v: AcceptingView): AcceptingPlan {
  if (!v.workersAccept) return { grant: [], hold: false, supervisorAccepts: true };
  // A worker given the listeners while clients wait is given the hold with them.
  const grant: number[] = [];
  for (let w = 0; w < v.free.length; w++) if (v.free[w] > 0 && !v.granted[w]) grant.push(w);
  return { grant, hold: v.waiting > 0, supervisorAccepts: grant.length === 0 && !v.listening.some(Boolean) };
}
