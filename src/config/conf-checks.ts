// Checks across parameters, made after every setting is applied: pgpool's own
// start-up refusals, plus the warnings pgpool-ts adds for what it does not do.
import type { Diagnostic } from './diagnostic.js';
import { nodeValue, type SettingSource } from './conf-loader.js';
import { hasPrimary, REFUSED_MODES } from '../policy/clustering.js';
import { parseRelationshipList } from '../policy/dml-adaptive.js';
import { parseRedirectList } from '../policy/load-balance.js';
import type { PgpoolConfig } from './schema.js';

const REDIRECT_LISTS = [
  'app_name_redirect_preference_list',
  'database_redirect_preference_list',
  'user_redirect_preference_list',
] as const;

export function crossCheck(cfg: PgpoolConfig, sources: ReadonlyMap<string, SettingSource>, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (param: string) => sources.get(param) ?? { file, line: 0 };
  const error = (param: string, message: string, hint?: string) =>
    out.push({ severity: 'error', ...at(param), param, message, hint });
  const warn = (param: string, message: string, hint?: string) =>
    out.push({ severity: 'warning', ...at(param), param, message, hint });

  if (REFUSED_MODES.has(cfg.backend_clustering_mode)) {
    error(
      'backend_clustering_mode',
      `backend_clustering_mode = '${cfg.backend_clustering_mode}' is not supported by pgpool-ts`,
      'pgpool-ts supports streaming_replication, logical_replication and raw; in this mode pgpool itself replicates every write',
    );
  }
  for (const param of REDIRECT_LISTS) {
    try {
      parseRedirectList(cfg[param]);
    } catch (e) {
      error(param, `invalid configuration for "${param}": ${(e as Error).message}`);
    }
  }
  try {
    parseRelationshipList(cfg.dml_adaptive_object_relationship_list);
  } catch (e) {
    error(
      'dml_adaptive_object_relationship_list',
      `invalid configuration for "dml_adaptive_object_relationship_list": ${(e as Error).message}`,
    );
  }
  if (cfg.reserved_connections > 0 && cfg.reserved_connections >= cfg.num_init_children) {
    error(
      'reserved_connections',
      `invalid configuration, reserved_connections:${cfg.reserved_connections} must be less than num_init_children:${cfg.num_init_children}`,
      'no client could ever be served',
    );
  }
  checkAdminReservation(cfg, error, warn);
  checkTransactionMode(cfg, error, warn);
  if (cfg.process_management_mode === 'dynamic') {
    if (cfg.min_spare_children >= cfg.max_spare_children) {
      error(
        'max_spare_children',
        `invalid configuration, max_spare_children:${cfg.max_spare_children} must be greater than min_spare_children:${cfg.min_spare_children}`,
      );
    }
    if (cfg.num_init_children < cfg.max_spare_children) {
      error(
        'max_spare_children',
        `invalid configuration, max_spare_children:${cfg.max_spare_children} can't be greater than num_init_children:${cfg.num_init_children}`,
      );
    }
  }
  if (cfg.replication_mode && cfg.failover_when_quorum_exists) {
    error(
      'replication_mode',
      'invalid configuration, failover_when_quorum_exists is not allowed in native replication mode',
      'replication_mode was replaced by backend_clustering_mode in pgpool-II 4.2',
    );
  }
  const backends = configuredBackends(cfg);
  if (cfg.recovery_1st_stage_command !== '' || cfg.recovery_2nd_stage_command !== '') {
    if (backends.some((i) => (cfg.backend_data_directory.nodes.get(i) ?? '') === '')) {
      error(
        'recovery_1st_stage_command',
        'invalid configuration, recovery_1st_stage_command and recovery_2nd_stage_command requires backend_data_directory to be set',
      );
    }
  }
  if (cfg.wd_lifecheck_method === 'heartbeat') {
    for (const [i, port] of cfg.heartbeat_port.nodes) {
      if (port > 0 && (cfg.heartbeat_hostname.nodes.get(i) ?? '') === '') {
        // pgpool refuses this even with the watchdog off; pgpool-ts runs no watchdog,
        // so it only matters (and is only fatal) when use_watchdog is on.
        (cfg.use_watchdog ? error : warn)(
          `heartbeat_port${i}`,
          'invalid watchdog configuration',
          `heartbeat_hostname${i} is not defined`,
        );
      }
    }
  }
  if (backends.length === 0) {
    warn(
      'backend_port0',
      'no backend configured: set backend_hostname0 and backend_port0',
      'every client will be refused until a backend is configured',
    );
  }
  if (hasPrimary(cfg.backend_clustering_mode) && cfg.load_balance_mode) {
    const dml = cfg.disable_load_balance_on_write;
    if (dml === 'dml_adaptive_global')
      warn(
        'disable_load_balance_on_write',
        `disable_load_balance_on_write = '${dml}' is treated as 'transaction' by pgpool-ts`,
        'after a write in a transaction, every read of that transaction goes to the primary',
      );
  }
  return out;
}

/** Node `id`'s backend_weight; an unset one counts as 1, as in pgpool's reports. */
export function configuredWeight(cfg: PgpoolConfig, id: number): number {
  return cfg.backend_weight.nodes.has(id) ? nodeValue(cfg.backend_weight, id) : 1;
}

/** Node ids with a non-zero backend_portN, in order: a backend slot exists only then. */
export function configuredBackends(cfg: PgpoolConfig): number[] {
  return [...cfg.backend_port.nodes]
    .filter(([, port]) => port > 0)
    .map(([i]) => i)
    .sort((a, b) => a - b);
}

/**
 * pgpool's sizing rule: every child may hold max_pool connections per backend, so the
 * backend must allow num_init_children × max_pool of them.
 */
export function capacityWarning(
  cfg: PgpoolConfig,
  maxConnections: number,
  superuserReserved: number,
): string | undefined {
  const need = cfg.num_init_children * cfg.max_pool;
  const allowed = maxConnections - superuserReserved;
  if (need <= allowed) return undefined;
  return `num_init_children (${cfg.num_init_children}) × max_pool (${cfg.max_pool}) = ${need} exceeds what the backend allows (max_connections ${maxConnections} − superuser_reserved_connections ${superuserReserved} = ${allowed}); clients may get "sorry, too many clients already" from PostgreSQL`;
}

type Report = (param: string, message: string, hint?: string) => void;

/** pool_mode = transaction (docs/transaction-pooling.md): connections are shared, so there must be a pool. */
function checkTransactionMode(cfg: PgpoolConfig, error: Report, warn: Report): void {
  if (cfg.pool_mode !== 'transaction') return;
  if (cfg.max_pool < 1 || !cfg.connection_cache)
    error(
      'pool_mode',
      'invalid configuration, pool_mode = transaction needs connection_cache = on and max_pool of at least 1',
      'transactions share the backend connections each child may hold',
    );
  for (const p of ['reserved_connections', 'admin_reserved_children'] as const)
    if (cfg[p] > 0) warn(p, `${p} has no effect with pool_mode = transaction`, 'max_client_conn bounds the clients');
}

/** admin_reserved_children (docs/behaviour.md#admission): some children must stay for everyone else. */
function checkAdminReservation(cfg: PgpoolConfig, error: Report, warn: Report): void {
  const reserved = cfg.admin_reserved_children;
  if (reserved === 0) return;
  if (reserved >= cfg.num_init_children)
    error(
      'admin_reserved_children',
      `invalid configuration, admin_reserved_children:${reserved} must be less than num_init_children:${cfg.num_init_children}`,
      'no other user could ever be served',
    );
  else if (cfg.reserved_connections > 0 && reserved + cfg.reserved_connections >= cfg.num_init_children)
    error(
      'admin_reserved_children',
      `invalid configuration, admin_reserved_children:${reserved} + reserved_connections:${cfg.reserved_connections} must be less than num_init_children:${cfg.num_init_children}`,
      'reserved_connections counts only the children not reserved for admin_users',
    );
  if (cfg.admin_users.length === 0)
    warn(
      'admin_reserved_children',
      `admin_reserved_children:${reserved} with an empty admin_users: those children serve nobody`,
      'list the administrators in admin_users',
    );
}
