// enable_pool_hba = on (docs/behaviour.md#authentication): the first pool_hba.conf record
// that applies decides how the client proves itself to pgpool-ts; PostgreSQL then gets
// what pgpool-ts holds for the user, or nothing.
import type net from 'node:net';
import {
  backendAuthFailed,
  type BackendMethod,
  type ClientAuthenticator,
  type Secret,
} from '../../auth/frontend-auth.js';
import { matchHba, plainAddress } from '../../auth/hba-match.js';
import type { Logger } from '../../logging/logger.js';
import { poolerError } from '../../protocol/errors.js';
import type { AuthContext } from '../auth-context.js';
import type { PasswordSource } from '../../backend/connector.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { SessionEnv } from './session-env.js';

export interface HbaProof {
  readonly held: Secret | undefined;
  /** A typed password nothing could check yet (see ClientAuthenticator.byHba). */
  readonly unchecked?: string;
}

export async function authenticateByHba(
  auth: ClientAuthenticator,
  ctx: AuthContext,
  client: net.Socket,
  who: { readonly user: string; readonly database: string; readonly peer: string },
  log: Logger,
): Promise<HbaProof> {
  const hba = ctx.hba!;
  const { user, database } = who;
  const ssl = (client as { encrypted?: boolean }).encrypted === true;
  const address = client.remoteAddress;
  if (hba.broken) throw poolerError('HBA_BROKEN');
  const record = await matchHba(
    hba.records,
    { local: address === undefined, ssl, address, database, user },
    ctx.hbaEnv,
  );
  if (!record || record.method === 'reject') {
    const host = address === undefined ? '[local]' : plainAddress(address);
    log.info(
      { user, database, client: who.peer, line: record?.line },
      record ? `pool_hba.conf line ${record.line} rejects the client` : 'no pool_hba.conf entry matches the client',
    );
    throw poolerError('HBA_NO_ENTRY', { host, user, database, ssl: ssl ? 'on' : 'off' });
  }
  return auth.byHba(record.method);
}

/** What PostgreSQL gets when pool_hba decided: what pgpool-ts holds, or nothing. */
export function heldPassword(method: BackendMethod, held: Secret | undefined): string {
  if (!held) throw backendAuthFailed(method, 'valid password not found');
  if (held.kind === 'plain') return held.password;
  if (method !== 'md5') throw backendAuthFailed(method, 'valid password not found: pool_passwd holds only an md5 hash');
  return held.stored;
}

/** A cached connection made for an earlier client: this one proves the same password. */
export async function proveReuse(
  auth: ClientAuthenticator,
  proved: HbaProof | undefined,
  conn: ServerConnection,
): Promise<void> {
  if (!proved) await auth.proveForReuse(conn.authMethod, conn.password);
  else if (proved.unchecked !== undefined) auth.checkReuse(proved.unchecked, conn.authMethod, conn.password);
}

/** Where the password for a new backend connection comes from. */
export function passwordSource(
  env: Pick<SessionEnv, 'auth' | 'config'>,
  auth: ClientAuthenticator,
  proved: HbaProof | undefined,
): PasswordSource {
  if (env.auth.hba) return async (method) => heldPassword(method, proved?.held);
  return (method) => auth.forBackend(method, env.config.allow_clear_text_frontend_auth);
}
