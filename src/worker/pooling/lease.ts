// The interface every pooling mode implements (docs/architecture.md#pooling-modes): a
// session asks for a backend connection for its route and gives it back when its client
// is done. Session mode (pgpool's) is session-pool.ts.
import type { BackendAddress } from '../../backend/address.js';
import type { PasswordSource } from '../../backend/connector.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { StreamState } from '../../protocol/stream-state.js';

export interface LeaseRequest {
  readonly user: string;
  readonly database: string;
  /** The sorted startup packet: what PostgreSQL is sent and the cache key. */
  readonly cacheKey: Buffer;
  /** Where the route says to go. */
  readonly address: BackendAddress;
  /** Proves the client may have a cached connection made by an earlier client (throws a PoolerError if not). */
  readonly proveReuse: (conn: ServerConnection) => Promise<void>;
  /** The password PostgreSQL asks for when a new connection is made. */
  readonly password: PasswordSource;
  /** A walsender connection (policy/cache-choice.ts isReplication): never taken from or given to a cache. */
  readonly replication: boolean;
}

export interface Lease {
  readonly conn: ServerConnection;
  readonly reused: boolean;
  /** Bytes PostgreSQL sent after its start-up ReadyForQuery (to relay first). */
  readonly extra: Buffer;
}

/** How the client's session ended, as release needs to know it. */
export type ReleaseReason = 'terminate' | 'client-gone' | 'backend-gone' | 'protocol-error' | 'stopped';

/** What the session wants to hear of a release. */
export interface ReleaseHooks {
  /** Each reset query as it is sent, and the connection it goes to (log_per_node_statement). */
  readonly sending?: (query: string, conn: ServerConnection) => void;
  /** Why the connection could not be kept after a reset. */
  readonly failed?: (why: string) => void;
}

export interface Pooling {
  lease(request: LeaseRequest): Promise<Lease>;
  /** A routed session's second connection, to its load-balance node (undefined: none could be made; `failed` hears why). */
  leaseCompanion(
    main: ServerConnection,
    request: LeaseRequest,
    address: BackendAddress,
    failed?: (e: unknown) => void,
  ): Promise<Lease | undefined>;
  /** Gives the connection (and a routed session's companion) back after its relay ended; true when it was kept for the next client. */
  release(
    conn: ServerConnection,
    stream: StreamState,
    reason: ReleaseReason,
    hooks?: ReleaseHooks,
    companion?: { readonly conn: ServerConnection; readonly stream: StreamState },
  ): Promise<boolean>;
}
