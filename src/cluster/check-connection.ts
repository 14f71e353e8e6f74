// The supervisor's own connections to a node (docs/behaviour.md#primary-detection): the
// primary search and the replication check log in as sr_check_user (later the health
// check as health_check_user). The password is pgpool's: AES…, md5… or TEXT… prefixes, or
// plain; empty means the user's pool_passwd entry.
import { nodeAddress } from '../backend/address.js';
import { openServerConnection } from '../backend/connector.js';
import type { ServerConnection } from '../backend/server-connection.js';
import { aesDecrypt, readPoolKey } from '../auth/pool-key.js';
import { nodeValue } from '../config/conf-loader.js';
import {
  findPoolPasswd,
  loadPoolPasswd,
  passwordKind,
  poolPasswdFile,
  type PasswordKind,
} from '../config/pool-passwd.js';
import type { PgpoolConfig } from '../config/schema.js';
import { PROTOCOL_3_0 } from '../protocol/codes.js';
import { sortedStartupPacket } from '../protocol/frontend-read.js';

/** How long a check's query may take when the node's connect_timeout is 0. */
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/** Where the supervisor finds pool_passwd and the pool key. */
export interface CredentialFiles {
  readonly configFile: string;
  readonly poolKeyFile: string;
}

export interface CheckLogin {
  readonly user: string;
  /** As configured: '' means pool_passwd. */
  readonly password: string;
  readonly database: string;
}

/** The password to answer PostgreSQL with (an md5 hash counts), or undefined when there is none. */
export function resolvePassword(
  cfg: PgpoolConfig,
  files: CredentialFiles,
  user: string,
  configured: string,
): string | undefined {
  let found: { kind: PasswordKind; secret: string } | undefined;
  if (configured !== '') found = passwordKind(configured);
  else if (cfg.pool_passwd !== '')
    found = findPoolPasswd(loadPoolPasswd(poolPasswdFile(files.configFile, cfg.pool_passwd)).entries, user);
  if (!found) return undefined;
  if (found.kind === 'aes') {
    const key = readPoolKey(files.poolKeyFile).key;
    return key === undefined ? undefined : aesDecrypt(found.secret, key);
  }
  // A SCRAM verifier cannot log in: PostgreSQL's challenge needs the password itself.
  return found.kind === 'scram' ? undefined : found.secret;
}

/** sr_check_user's login. */
export function srCheckLogin(cfg: PgpoolConfig): CheckLogin {
  return { user: cfg.sr_check_user, password: cfg.sr_check_password, database: cfg.sr_check_database || 'postgres' };
}

/** health_check_user's login for node `id` (an empty database is postgres, as pgpool's code has it). */
export function healthCheckLogin(cfg: PgpoolConfig, id: number): CheckLogin {
  return {
    user: nodeValue(cfg.health_check_user, id),
    password: nodeValue(cfg.health_check_password, id),
    database: nodeValue(cfg.health_check_database, id) || 'postgres',
  };
}

/** A fresh connection to node `id` as `login`, named by `applicationName` in pg_stat_activity (the health check sends none, as pgpool). */
export async function openCheckConnection(
  cfg: PgpoolConfig,
  files: CredentialFiles,
  id: number,
  login: CheckLogin,
  applicationName: string | undefined,
): Promise<ServerConnection> {
  const key = sortedStartupPacket(PROTOCOL_3_0, [
    ['user', login.user],
    ['database', login.database],
    ...(applicationName === undefined ? [] : ([['application_name', applicationName]] as [string, string][])),
  ]);
  const password = resolvePassword(cfg, files, login.user, login.password);
  const { conn } = await openServerConnection(
    nodeAddress(cfg, id),
    key,
    login.user,
    login.database,
    async () => password,
  );
  return conn;
}

/** What asking a node gave: its answer, or where it failed (logging into it, or the query). */
export type CheckOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly stage: 'connect' | 'query'; readonly error: Error };

/** Opens a check connection to node `id`, runs `ask` on it and closes it. */
export async function askNode<T>(
  cfg: PgpoolConfig,
  files: CredentialFiles,
  id: number,
  applicationName: string,
  ask: (conn: ServerConnection, timeoutMs: number) => Promise<T>,
): Promise<CheckOutcome<T>> {
  let conn: ServerConnection;
  try {
    conn = await openCheckConnection(cfg, files, id, srCheckLogin(cfg), applicationName);
  } catch (e) {
    return { ok: false, stage: 'connect', error: e as Error };
  }
  try {
    return { ok: true, value: await ask(conn, nodeValue(cfg.connect_timeout, id) || DEFAULT_QUERY_TIMEOUT_MS) };
  } catch (e) {
    return { ok: false, stage: 'query', error: e as Error };
  } finally {
    conn.close();
  }
}
