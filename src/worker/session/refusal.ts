// Why a session could not start, as the client is told (docs/errors.md): PostgreSQL's own
// refusal byte for byte, or an error of the catalogue.
import type net from 'node:net';
import { describeAddress, type BackendAddress } from '../../backend/address.js';
import { BackendConnectError, BackendRefusedError } from '../../backend/errors.js';
import { nodeHasFlag } from '../../config/accessors.js';
import type { PgpoolConfig } from '../../config/schema.js';
import type { Logger } from '../../logging/logger.js';
import { followsPatroni } from '../../policy/clustering.js';
import { backendLoss } from '../../policy/failover.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { poolerError, PoolerError } from '../../protocol/errors.js';
import type { Lease, LeaseRequest, Pooling } from '../pooling/lease.js';
import type { BackendGone } from '../relay/relay.js';
import type { SessionPlan } from '../routing/router.js';
import type { SessionEnv } from './session-env.js';

/** The catalogue error for a failure on the way to a backend connection. */
export function refusalError(e: unknown, address: BackendAddress | undefined): PoolerError {
  if (e instanceof PoolerError) return e;
  if (e instanceof BackendConnectError && e.kind === 'unreachable' && address)
    return poolerError('BACKEND_UNREACHABLE', { node: address.node, where: describeAddress(address), why: e.message });
  if (e instanceof BackendConnectError && e.kind === 'auth')
    return poolerError('BACKEND_NO_PASSWORD', { detail: e.message });
  return poolerError('BACKEND_START', { detail: (e as Error).message });
}

/** The log line of a refusal: PostgreSQL's own, or the catalogue error with the real reason where the client is told less. */
export function logRefusal(
  log: Logger,
  who: Record<string, unknown>,
  e: unknown,
  address: BackendAddress | undefined,
): void {
  if (e instanceof BackendRefusedError) {
    log.info({ ...who, sqlstate: e.fields.get('C') }, `backend refused the connection: ${e.message}`);
    return;
  }
  const err = refusalError(e, address);
  const { code, sqlstate, hint, limit } = err;
  log[err.logLevel]({ ...who, code, sqlstate, detail: err.logDetail ?? err.detail, hint, limit }, err.message);
}

/** The bytes the client gets for it. */
export function refusalBytes(e: unknown, address: BackendAddress | undefined): Buffer {
  return e instanceof BackendRefusedError ? e.raw : errorResponse(refusalError(e, address));
}

type DetachEnv = Pick<SessionEnv, 'config' | 'nodeUnreachable' | 'lastAlive'>;

/**
 * Whether a session's failure on `node` may ask for its detach: not following Patroni
 * (pgpool-ts detaches nothing itself then), not DISALLOW_TO_FAILOVER, not the last alive
 * node. The supervisor's failover queue decides again; this spares the request and tells
 * the client the right text.
 */
function mayRequestDetach(env: DetachEnv, node: number): boolean {
  const cfg = env.config;
  return !followsPatroni(cfg) && !nodeHasFlag(cfg, node, 'DISALLOW_TO_FAILOVER') && !env.lastAlive(node);
}

/**
 * failover_on_backend_error (docs/behaviour.md#failover): a node a session cannot reach is
 * detached (unless DISALLOW_TO_FAILOVER, or the only alive node); returns what the client is told when it is the
 * session's main node. A load-balance node that cannot be reached leaves the session on
 * the primary, with no error.
 */
export function backendFailure(
  e: unknown,
  address: BackendAddress | undefined,
  main: boolean,
  env: DetachEnv,
  log: Logger,
): unknown {
  if (!(e instanceof BackendConnectError && e.kind === 'unreachable' && address)) return e;
  const cfg = env.config;
  const node = address.node;
  if (!mayRequestDetach(env, node)) return e;
  log.info(
    { node, error: e.message },
    `failed to connect to PostgreSQL server of node ${node} at ${describeAddress(address)}`,
  );
  if (!cfg.failover_on_backend_error) {
    if (!main)
      log.info(
        {
          detail:
            'skip this backend because because failover_on_backend_error is off and we are in streaming replication mode and node is standby node',
        },
        `failed to create a backend ${node} connection`,
      );
    return poolerError('BACKEND_NO_FAILOVER', { node });
  }
  env.nodeUnreachable(node);
  return poolerError('BACKEND_FAILOVER');
}

/**
 * A backend connection ended under the session (docs/behaviour.md#failover): detach its
 * node when failover_on_backend_error says so, and tell the client when pgpool would.
 */
export function backendLost(end: BackendGone, mainNode: number, client: net.Socket, env: DetachEnv, log: Logger): void {
  const node = end.node ?? mainNode;
  const loss = backendLoss({
    socketError: end.socketError !== undefined,
    garbled: end.garbled !== undefined,
    saidWhy: end.saidWhy,
    failoverOnBackendError: env.config.failover_on_backend_error,
    mayDetach: mayRequestDetach(env, node),
  });
  log.info(
    { node, error: end.socketError ?? end.garbled ?? 'EOF', detach: loss.detach },
    `the connection to DB node ${node} was lost under the session`,
  );
  if (loss.detach) env.nodeUnreachable(node);
  if (loss.tell && !client.destroyed) client.write(errorResponse(poolerError(loss.tell, { node })));
}

/**
 * Where the session starts: its plan's primary; following Patroni with no leader known, a
 * replica (reads go on, writes fail there; docs/behaviour.md#patroni); else a refusal.
 */
export function sessionAddress(
  plan: SessionPlan,
  cfg: PgpoolConfig,
  log: (message: string, fields: Record<string, unknown>) => void,
): BackendAddress {
  if (plan.primary) return plan.primary;
  if (plan.readOnly) {
    log('no node takes writes: the session runs on a replica', { node: plan.readOnly.node });
    return plan.readOnly;
  }
  throw poolerError(followsPatroni(cfg) ? 'NO_LEADER' : 'NO_BACKEND');
}

/**
 * The session's main connection on its planned route; following Patroni, a leader that
 * cannot be reached leaves the session to a replica (docs/behaviour.md#patroni), whose
 * writes then fail there as on any standby.
 */
export async function leaseRoute(
  pool: Pooling,
  request: LeaseRequest,
  plan: SessionPlan,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<{ lease: Lease; request: LeaseRequest }> {
  try {
    return { lease: await pool.lease(request), request };
  } catch (e) {
    const elsewhere = plan.readOnly && plan.readOnly.node !== request.address.node ? plan.readOnly : undefined;
    if (!elsewhere || !(e instanceof BackendConnectError && e.kind === 'unreachable')) throw e;
    log('the leader cannot be reached: the session runs on a replica (writes fail there)', {
      node: request.address.node,
      replica: elsewhere.node,
    });
    const onReplica = { ...request, address: elsewhere };
    return { lease: await pool.lease(onReplica), request: onReplica };
  }
}
