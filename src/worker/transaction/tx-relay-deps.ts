// What a transaction-mode relay needs from its session and worker (docs/transaction-pooling.md).
import type net from 'node:net';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { Logger } from '../../logging/logger.js';
import type { PoolerCommandHook, RelayEnd } from '../relay/relay.js';
import type { RequestTiming } from '../relay/request-timing.js';
import type { StatementNames } from './tx-messages.js';
import type { TxPool } from './tx-pool.js';
import type { CarriedState } from '../../policy/session-state.js';
import type { InternalQuery } from '../routing/catalog-facts.js';
import type { TxRequests } from './tx-requests.js';

export interface TxRelayDeps {
  readonly client: net.Socket;
  readonly pool: TxPool;
  readonly names: StatementNames;
  /** A child for the next transaction (first come, first served; query_wait_timeout). */
  enter(): Promise<void>;
  /** A child now, when one is idle and nobody waits. */
  enterNow(): boolean;
  /** An idle pooled connection for the client, when there is one. */
  openNow(): ServerConnection | undefined;
  /** The child goes back. */
  leave(): void;
  /** A connection for the client's key and node, from the pool or new. */
  open(): Promise<ServerConnection>;
  /**
   * Load balancing: the next transaction, starting with the `pending` messages, runs on the
   * standby (true: then openNow/open give the standby's connections, and only its first
   * request is sent).
   */
  route(pending: readonly Buffer[], requests: TxRequests): boolean;
  /** A read's catalog facts are to be asked on the primary connection before it goes back. */
  readonly learning: boolean;
  learn(ask: InternalQuery): Promise<void>;
  /** The connection the client is on now (undefined: none): reports and cancel. */
  leased(conn: ServerConnection | undefined): void;
  /** The client's state after its start-up (its startup settings, applied by the login). */
  readonly state: CarriedState;
  /** Its startup parameters as settings: a RESET of one goes back to it, as on a direct connection. */
  readonly startup: ReadonlyMap<string, string>;
  readonly pinPolicy: () => 'pin' | 'error';
  readonly maxPrepared: number;
  readonly poolerCommand: PoolerCommandHook;
  readonly timing: RequestTiming;
  readonly log: () => Logger;
  readonly onEnd: (end: RelayEnd) => void;
}
