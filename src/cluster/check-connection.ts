// The supervisor's own connections to a node (docs/behaviour.md#primary-detection): the
// primary search and the replication check log in as sr_check_user (later the health
// check as health_check_user). The password is pgpool's: AES…, md5… or TEXT… prefixes, or
// plain; empty means the user's pool_passwd entry.
import { nodeAddress } from '../backend/address.js';
import { openServerConnection } from '../backend/connector.js';
import type { ServerConnection } from '../backend/server-connection.js';
import { simpleQuery } from '../backend/simple-query.js';
import { aesDecrypt, readPoolKey } from '../auth/pool-key.js';
import { findPoolPasswd, loadPoolPasswd, passwordKind, poolPasswdFile } from '../config/pool-passwd.js';
import type { PgpoolConfig } from '../config/schema.js';
import { PROTOCOL_3_0 } from '../protocol/codes.js';
import { sortedStartupPacket } from '../protocol/frontend-read.js';

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
  let text = configured;
  if (text === '') {
    if (cfg.pool_passwd === '') return undefined;
    const entry = findPoolPasswd(loadPoolPasswd(poolPasswdFile(files.configFile, cfg.pool_passwd)).entries, user);
    if (!entry) return undefined;
    text = entry.kind === 'aes' ? 'AES' + entry.secret : entry.kind === 'text' ? 'TEXT' + entry.secret : entry.secret;
  }
  const { kind, secret } = passwordKind(text);
  if (kind === 'aes') {
    const key = readPoolKey(files.poolKeyFile).key;
    return key === undefined ? undefined : aesDecrypt(secret, key);
  }
  // A SCRAM verifier cannot log in: PostgreSQL's challenge needs the password itself.
  return kind === 'scram' ? undefined : secret;
}

/** sr_check_user's login. */
export function srCheckLogin(cfg: PgpoolConfig): CheckLogin {
  return { user: cfg.sr_check_user, password: cfg.sr_check_password, database: cfg.sr_check_database || 'postgres' };
}

/** A fresh connection to node `id` as `login`, named by `applicationName` in pg_stat_activity. */
export async function openCheckConnection(
  cfg: PgpoolConfig,
  files: CredentialFiles,
  id: number,
  login: CheckLogin,
  applicationName: string,
): Promise<ServerConnection> {
  const key = sortedStartupPacket(PROTOCOL_3_0, [
    ['user', login.user],
    ['database', login.database],
    ['application_name', applicationName],
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

/** One query on a check connection: its first row's columns as text (null for NULL). */
export async function firstRow(conn: ServerConnection, sql: string, timeoutMs: number): Promise<Array<string | null>> {
  const rows = await simpleQuery(conn, sql, timeoutMs);
  return rows[0] ?? [];
}
