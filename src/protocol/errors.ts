// Every failure the pooler itself reports to a client: a stable code, a severity, a
// SQLSTATE, pgpool's message text, and a detail/hint. Errors from PostgreSQL are never
// wrapped in this; their bytes are forwarded untouched.
import { SqlState } from './sqlstate.js';

export type Severity = 'ERROR' | 'FATAL' | 'DEBUG';

export class PoolerError extends Error {
  constructor(
    readonly code: string,
    readonly sqlstate: string,
    message: string,
    readonly severity: Severity = 'FATAL',
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'PoolerError';
  }
}

export const tooManyClients = () =>
  new PoolerError('TOO_MANY_CLIENTS', SqlState.TooManyConnections, 'Sorry, too many clients already', 'FATAL');

export const tooManyWaiting = (limit: number) =>
  new PoolerError(
    'QUEUE_FULL',
    SqlState.TooManyConnections,
    'Sorry, too many clients already',
    'FATAL',
    `${limit} clients are already waiting for a free child`,
    'raise num_init_children or listen_backlog_multiplier',
  );

export const badStartupLength = (len: number) =>
  new PoolerError(
    'BAD_STARTUP',
    SqlState.ProtocolViolation,
    'failed while reading startup packet',
    'FATAL',
    `incorrect packet length (${len})`,
  );

export const badMajorVersion = (major: number, minor: number) =>
  new PoolerError(
    'BAD_PROTOCOL',
    SqlState.FeatureNotSupported,
    `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.2`,
    'FATAL',
    `invalid major no: ${major} in startup packet`,
  );

export const noUserName = () =>
  new PoolerError(
    'NO_USER',
    SqlState.InvalidAuthorizationSpecification,
    'no PostgreSQL user name specified in startup packet',
    'FATAL',
  );

export const badStartupPacket = (detail: string) =>
  new PoolerError('BAD_STARTUP', SqlState.ProtocolViolation, 'invalid startup packet layout', 'FATAL', detail);

export const backendUnreachable = (node: number, where: string, why: string) =>
  new PoolerError(
    'BACKEND_UNREACHABLE',
    SqlState.ConnectionFailure,
    'failed to create a backend connection',
    'FATAL',
    `pgpool-ts could not connect to backend ${node} at ${where}: ${why}`,
    'check that PostgreSQL is running and backend_hostname/backend_port are right',
  );

export const noBackend = () =>
  new PoolerError(
    'NO_BACKEND',
    SqlState.InternalError,
    'all backend nodes are down, pgpool requires at least one valid node',
    'FATAL',
    'no backend is configured',
    'set backend_hostname0 and backend_port0 in pgpool.conf',
  );

export const adminShutdown = () =>
  new PoolerError('SHUTDOWN', SqlState.AdminShutdown, 'terminating connection due to administrator command', 'FATAL');

export const authTimeout = () =>
  new PoolerError('AUTH_TIMEOUT', SqlState.ProtocolViolation, 'authentication timeout', 'FATAL');

export const clientIdleLimit = (limit: number) =>
  new PoolerError(
    'IDLE_LIMIT',
    SqlState.OperatorIntervention,
    'unable to read data',
    'FATAL',
    `child connection forced to terminate due to client_idle_limit:${limit} is reached`,
  );
