// THE error catalogue: every failure the pooler itself reports to a client or a log, by
// code, with its SQLSTATE, severity, log level and pgpool's texts (docs/errors.md). Errors
// from PostgreSQL are never wrapped in this; their bytes are forwarded untouched.
import { SqlState, type SqlStateCode } from './sqlstate.js';

export type Severity = 'ERROR' | 'FATAL';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface CatalogueEntry {
  readonly sqlstate: SqlStateCode;
  readonly severity: Severity;
  /** The level of the pooler's own log line for it. */
  readonly log: LogLevel;
  /** pgpool's message; `{name}` is filled from the arguments. */
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** A limit was reached: the parameter that sets it (log lines name it). */
  readonly limit?: string;
  /** pgpool writes this one without the V (non-localised severity) field. */
  readonly withoutV?: true;
  /** Logged only; the client gets nothing and the connection is closed (PostgreSQL's COMMERROR). */
  readonly silent?: true;
}

const CLIENT_LEG = '(client to pgpool-ts)';
const BACKEND_LEG = '(pgpool-ts to PostgreSQL)';
const SEE_LOG = 'see pgpool log for details';

export const CATALOGUE = {
  // Admission (docs/behaviour.md#admission)
  RESERVED_CONNECTIONS: {
    sqlstate: SqlState.TooManyConnections,
    severity: 'FATAL',
    log: 'info',
    message: 'Sorry, too many clients already',
    limit: 'reserved_connections',
    withoutV: true,
  },
  QUEUE_FULL: {
    sqlstate: SqlState.TooManyConnections,
    severity: 'FATAL',
    log: 'warn',
    message: 'Sorry, too many clients already',
    detail: '{waiting} clients are already waiting for a free child',
    hint: 'raise num_init_children or listen_backlog_multiplier',
    limit: 'listen_backlog_multiplier',
  },
  AUTH_TIMEOUT: {
    sqlstate: SqlState.ProtocolViolation,
    severity: 'FATAL',
    log: 'info',
    message: 'authentication timeout',
    limit: 'authentication_timeout',
  },
  IDLE_LIMIT: {
    sqlstate: SqlState.OperatorIntervention,
    severity: 'FATAL',
    log: 'info',
    message: 'unable to read data',
    detail: 'child connection forced to terminate due to client_idle_limit:{limit} is reached',
    limit: 'client_idle_limit',
  },
  SHUTDOWN: {
    sqlstate: SqlState.AdminShutdown,
    severity: 'FATAL',
    log: 'info',
    message: 'terminating connection due to administrator command',
  },
  // Start-up packet (docs/behaviour.md#startup)
  // A length no startup packet can have is not even a PostgreSQL client (an HTTP request, a
  // Terminate sent before the startup packet): PostgreSQL logs it and closes without a word.
  STARTUP_LENGTH: {
    sqlstate: SqlState.ProtocolViolation,
    severity: 'FATAL',
    log: 'info',
    message: 'invalid length of startup packet',
    detail: 'incorrect packet length ({length})',
    silent: true,
  },
  STARTUP_LAYOUT: {
    sqlstate: SqlState.ProtocolViolation,
    severity: 'FATAL',
    log: 'debug',
    message: 'invalid startup packet layout',
    detail: '{detail}',
  },
  PROTOCOL_VERSION: {
    sqlstate: SqlState.FeatureNotSupported,
    severity: 'FATAL',
    log: 'debug',
    message: 'unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.2',
    detail: 'invalid major no: {major} in startup packet',
  },
  NO_USER: {
    sqlstate: SqlState.InvalidAuthorizationSpecification,
    severity: 'FATAL',
    log: 'debug',
    message: 'no PostgreSQL user name specified in startup packet',
  },
  UNENCRYPTED_AFTER_SSL: {
    sqlstate: SqlState.ProtocolViolation,
    severity: 'FATAL',
    log: 'info',
    message: 'received unencrypted data after SSL request',
    detail: 'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
  },
  FRONTEND_PROTOCOL: {
    sqlstate: SqlState.ProtocolViolation,
    severity: 'FATAL',
    log: 'info',
    message: 'invalid frontend message',
    detail: '{detail}',
  },
  // Client authentication (docs/behaviour.md#authentication)
  HBA_BROKEN: {
    sqlstate: SqlState.InvalidAuthorizationSpecification,
    severity: 'FATAL',
    log: 'error',
    message: 'client authentication failed',
    detail: 'missing or erroneous pool_hba.conf file',
    hint: SEE_LOG,
  },
  HBA_NO_ENTRY: {
    sqlstate: SqlState.InvalidAuthorizationSpecification,
    severity: 'FATAL',
    log: 'info',
    message: 'client authentication failed',
    detail: 'no pool_hba.conf entry for host "{host}", user "{user}", database "{database}", SSL {ssl}',
    hint: SEE_LOG,
  },
  CLIENT_AUTH: {
    sqlstate: SqlState.InvalidPassword,
    severity: 'FATAL',
    log: 'info',
    message: '{what}',
    detail: `{detail} ${CLIENT_LEG}`,
    hint: '{hint}',
  },
  AUTH_METHOD_UNSUPPORTED: {
    sqlstate: SqlState.FeatureNotSupported,
    severity: 'FATAL',
    log: 'warn',
    message: '{method} authentication is not supported by pgpool-ts',
    detail: `pool_hba.conf selects {method} for user "{user}" ${CLIENT_LEG}`,
    hint: 'use md5, scram-sha-256, password or cert in pool_hba.conf',
  },
  // The backend leg (docs/behaviour.md#backend)
  BACKEND_AUTH: {
    sqlstate: SqlState.InvalidPassword,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to authenticate with backend using {method}',
    detail: `{detail} ${BACKEND_LEG}`,
    hint: 'add the user to pool_passwd (TEXT or AES for SCRAM), or set allow_clear_text_frontend_auth = on',
  },
  BACKEND_NO_PASSWORD: {
    sqlstate: SqlState.InvalidPassword,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to authenticate with backend',
    detail: `{detail} ${BACKEND_LEG}`,
    hint: 'add the user to pool_passwd, or set allow_clear_text_frontend_auth = on',
  },
  BACKEND_UNREACHABLE: {
    sqlstate: SqlState.ConnectionFailure,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to create a backend connection',
    detail: 'pgpool-ts could not connect to backend {node} at {where}: {why}',
    hint: 'check that PostgreSQL is running and backend_hostname/backend_port are right',
  },
  BACKEND_START: {
    sqlstate: SqlState.ConnectionFailure,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to create a backend connection',
    detail: '{detail}',
  },
  // failover_on_backend_error (docs/behaviour.md#failover): pgpool's texts.
  BACKEND_FAILOVER: {
    sqlstate: SqlState.InternalError,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to create a backend connection',
    detail: 'executing failover on backend',
  },
  BACKEND_NO_FAILOVER: {
    sqlstate: SqlState.InternalError,
    severity: 'FATAL',
    log: 'info',
    message: 'failed to create a backend {node} connection',
    detail: 'not executing failover because failover_on_backend_error is off',
  },
  // A backend connection that ended under a session (docs/behaviour.md#failover).
  BACKEND_EOF: {
    sqlstate: SqlState.InternalError,
    severity: 'FATAL',
    log: 'info',
    message: 'unable to read data from DB node {node}',
    detail: 'EOF encountered with backend',
  },
  BACKEND_READ_NO_FAILOVER: {
    sqlstate: SqlState.InternalError,
    severity: 'ERROR',
    log: 'info',
    message: 'unable to read data from DB node {node}',
    detail: 'do not failover because failover_on_backend_error is off',
  },
  // backend_discovery = patroni (docs/behaviour.md#patroni).
  NO_LEADER: {
    sqlstate: SqlState.ConnectionFailure,
    severity: 'FATAL',
    log: 'info',
    message: 'no node takes writes: Patroni names no leader',
    detail:
      'backend_discovery = patroni sends writes only to the member Patroni calls leader; it names none, or no patroni_url endpoint has answered for patroni_stale_timeout, and no member it last called replica is alive within delay_threshold for a read-only session',
    hint: 'check the Patroni cluster (patronictl list) and patroni_url',
  },
  NO_BACKEND: {
    sqlstate: SqlState.InternalError,
    severity: 'FATAL',
    log: 'error',
    message: 'all backend nodes are down, pgpool requires at least one valid node',
    detail: 'no backend is configured',
    hint: 'set backend_hostname0 and backend_port0 in pgpool.conf',
  },
  // Sessions over several nodes (docs/behaviour.md#routing)
  IN_FAILED_TRANSACTION: {
    sqlstate: SqlState.InFailedSqlTransaction,
    severity: 'ERROR',
    log: 'debug',
    message: 'current transaction is aborted, commands ignored until end of transaction block',
    detail: 'statement: {query}',
  },
  KIND_MISMATCH: {
    sqlstate: SqlState.InternalError,
    severity: 'FATAL',
    log: 'warn',
    message: 'failed to read kind from backend',
    detail: 'kind mismatch among backends. Possible last query was: "{query}" kind details are: {kinds}',
    hint: 'check data consistency among db nodes',
  },
  // PGPOOL SHOW / SET / RESET (docs/behaviour.md#pgpool-commands)
  UNKNOWN_PARAMETER: {
    sqlstate: SqlState.UndefinedObject,
    severity: 'ERROR',
    log: 'debug',
    message: 'unrecognized configuration parameter "{name}"',
  },
  NOT_SESSION_PARAMETER: {
    sqlstate: SqlState.CantChangeRuntimeParam,
    severity: 'ERROR',
    log: 'debug',
    message: 'parameter "{name}" cannot be changed in a session',
    hint: 'change it in pgpool.conf and reload',
  },
  INVALID_VALUE: {
    sqlstate: SqlState.InvalidParameterValue,
    severity: 'ERROR',
    log: 'debug',
    message: '{message}',
    hint: '{hint}',
  },
  PGPOOL_SYNTAX: {
    sqlstate: SqlState.SyntaxError,
    severity: 'ERROR',
    log: 'debug',
    message: 'syntax error at or near "{near}"',
    hint: 'PGPOOL SHOW name|ALL, PGPOOL SET name TO value, PGPOOL RESET name|ALL',
  },
  // Transaction pooling (docs/transaction-pooling.md)
  MAX_CLIENT_CONN: {
    sqlstate: SqlState.TooManyConnections,
    severity: 'FATAL',
    log: 'info',
    message: 'Sorry, too many clients already',
    detail: '{clients} clients are connected, as many as max_client_conn allows',
    limit: 'max_client_conn',
  },
  QUERY_WAIT_TIMEOUT: {
    sqlstate: SqlState.QueryCanceled,
    severity: 'FATAL',
    log: 'info',
    message: 'no child became free for the transaction within query_wait_timeout ({limit} s)',
    hint: 'raise num_init_children or query_wait_timeout, or shorten the transactions that hold the children',
    limit: 'query_wait_timeout',
  },
  PIN_REFUSED: {
    sqlstate: SqlState.FeatureNotSupported,
    severity: 'ERROR',
    log: 'info',
    message: '{feature} is not supported in transaction pooling mode',
    detail: 'it leaves state on the backend connection that the next transaction may not find; it was undone',
    hint: 'set pin_policy = pin to keep such a client on its backend connection',
  },
  STATEMENT_EXISTS: {
    sqlstate: SqlState.DuplicatePreparedStatement,
    severity: 'ERROR',
    log: 'debug',
    message: 'prepared statement "{name}" already exists',
  },
  STATEMENT_MISSING: {
    sqlstate: SqlState.InvalidSqlStatementName,
    severity: 'ERROR',
    log: 'debug',
    message: 'prepared statement "{name}" does not exist',
  },
  RESTORE_FAILED: {
    sqlstate: SqlState.ConnectionFailure,
    severity: 'FATAL',
    log: 'warn',
    message: 'the session could not be carried over to a backend connection',
    detail: '{detail}',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof CATALOGUE;
export type ErrorArgs = Readonly<Record<string, string | number | undefined>>;

/** `{name}` filled from `args`; a field all of whose placeholders are empty is left out. */
function fill(template: string | undefined, args: ErrorArgs): string | undefined {
  if (template === undefined) return undefined;
  let given = 0;
  let placeholders = 0;
  const out = template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    placeholders++;
    const v = args[k];
    if (v === undefined || v === '') return '';
    given++;
    return String(v);
  });
  return placeholders > 0 && given === 0 ? undefined : out;
}

/** A failure of the pooler's own, as the client and the log get it. */
export class PoolerError extends Error {
  readonly sqlstate: SqlStateCode;
  readonly severity: Severity;
  readonly logLevel: LogLevel;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly limit: string | undefined;
  readonly withoutV: boolean;
  readonly silent: boolean;
  /** What the log says when the client is told less (no user enumeration: docs/behaviour.md#authentication). */
  readonly logDetail: string | undefined;

  constructor(
    readonly code: ErrorCode,
    args: ErrorArgs = {},
  ) {
    const e: CatalogueEntry = CATALOGUE[code];
    super(fill(e.message, args) ?? '');
    this.name = 'PoolerError';
    this.sqlstate = e.sqlstate;
    this.severity = e.severity;
    this.logLevel = e.log;
    this.detail = fill(e.detail, args);
    this.hint = fill(e.hint, args);
    this.limit = e.limit;
    this.withoutV = e.withoutV === true;
    this.silent = e.silent === true;
    this.logDetail = typeof args.logDetail === 'string' ? args.logDetail : undefined;
  }
}

/** Shorthand: `poolerError('QUEUE_FULL', { waiting: 12 })`. */
export const poolerError = (code: ErrorCode, args?: ErrorArgs): PoolerError => new PoolerError(code, args);
