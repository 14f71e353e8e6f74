// Admission decisions (docs/behaviour.md#admission), pure: state in, decision out.

export interface AdmissionLimits {
  readonly num_init_children: number;
  readonly reserved_connections: number;
  readonly listen_backlog_multiplier: number;
  /** Children only admin_users may take (pgpool-ts; 0: none). */
  readonly admin_reserved_children: number;
  /** In transaction mode max_client_conn bounds the clients, not the line (docs/transaction-pooling.md#sizing). */
  readonly pool_mode?: 'session' | 'transaction';
}

/** The listen() backlog and the longest queue of clients waiting for a child. */
export function backlogFor(cfg: AdmissionLimits): number {
  return Math.min(cfg.num_init_children * cfg.listen_backlog_multiplier, 10000);
}

/**
 * The listen() backlog. In transaction mode a burst of up to max_client_conn clients may
 * connect at once while every child is busy: the kernel's queue holds them all (it caps it
 * at net.core.somaxconn), not pgpool's children × multiplier.
 */
export function listenBacklog(
  cfg: AdmissionLimits & { readonly pool_mode: 'session' | 'transaction'; readonly max_client_conn: number },
): number {
  const pgpool = backlogFor(cfg);
  return cfg.pool_mode === 'transaction' ? Math.min(Math.max(pgpool, cfg.max_client_conn), 65535) : pgpool;
}

/**
 * At accept, before anything is read: with reserved_connections = r > 0, the client
 * that would be number c > num_init_children − admin_reserved_children − r is refused at
 * once; with children reserved for administrators it is read first ('read-first'), and
 * refused unless it is one. `connected` counts clients accepted and not yet finished,
 * known administrators not included.
 */
export function admitOnAccept(connected: number, cfg: AdmissionLimits): 'accept' | 'reject-reserved' | 'read-first' {
  const c = connected + 1;
  if (cfg.reserved_connections > 0 && c > ordinaryChildren(cfg) - cfg.reserved_connections)
    return cfg.admin_reserved_children > 0 ? 'read-first' : 'reject-reserved';
  return 'accept';
}

/** How many children clients not in admin_users may hold at once. */
export function ordinaryChildren(cfg: AdmissionLimits): number {
  return cfg.num_init_children - cfg.admin_reserved_children;
}

/** Whether one more client not in admin_users may take a child, `holding` holding one already. */
export function ordinaryMayTake(holding: number, cfg: AdmissionLimits): boolean {
  return cfg.admin_reserved_children === 0 || holding < ordinaryChildren(cfg);
}

export interface Placement {
  /** Children free in all workers. */
  readonly free: number;
  /** Clients in line before this one. */
  readonly waiting: number;
  /** Children held by clients not known to be administrators. */
  readonly ordinaryHolding: number;
  /** The client is in admin_users (known from its startup packet). */
  readonly admin: boolean;
}

/**
 * Once accepted (or its startup packet read): hand it to a free child, let it wait in
 * line, or refuse it (line full). An administrator takes any free child ahead of the
 * line; anyone else only a child the reservation leaves, and never past those waiting.
 * With children reserved, a client the full line would refuse is read first
 * ('read-first'), so that an administrator is not refused.
 */
export function placeClient(
  v: Placement,
  cfg: AdmissionLimits,
): 'dispatch' | 'wait' | 'read-first' | 'reject-queue-full' {
  if (v.free > 0 && (v.admin || (v.waiting === 0 && ordinaryMayTake(v.ordinaryHolding, cfg)))) return 'dispatch';
  if (v.waiting < backlogFor(cfg) || v.admin || cfg.pool_mode === 'transaction') return 'wait';
  return cfg.admin_reserved_children > 0 ? 'read-first' : 'reject-queue-full';
}

/**
 * Which children SHOW pool_processes marks reserved: those serving administrators, up to
 * admin_reserved_children, then as many idle ones (highest id first) as make the count.
 */
export function reservedChildren(
  children: readonly { readonly id: number; readonly busy: boolean; readonly admin: boolean }[],
  cfg: AdmissionLimits,
): Set<number> {
  const out = new Set<number>();
  const take = (c: { readonly id: number }) => {
    if (out.size < cfg.admin_reserved_children) out.add(c.id);
  };
  for (const c of children) if (c.admin) take(c);
  for (const c of children.filter((x) => !x.busy).sort((a, b) => b.id - a.id)) take(c);
  return out;
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

/**
 * Transaction mode (docs/transaction-pooling.md#sizing): worker `w`'s share of
 * max_client_conn; the shares add up to it exactly.
 */
export function clientShare(w: number, workers: number, maxClientConn: number): number {
  return Math.floor(maxClientConn / workers) + (w < maxClientConn % workers ? 1 : 0);
}

/**
 * The worker to take a client its own worker had no room for: the one with the most room
 * left in its share, by the counts reported; undefined when none has any (then 53300).
 */
export function txClientTarget(clients: readonly number[], maxClientConn: number): number | undefined {
  let best: number | undefined;
  let bestRoom = 0;
  let total = 0;
  for (let w = 0; w < clients.length; w++) {
    total += clients[w];
    const room = clientShare(w, clients.length, maxClientConn) - clients[w];
    if (room > bestRoom) [best, bestRoom] = [w, room];
  }
  return total < maxClientConn ? best : undefined;
}
