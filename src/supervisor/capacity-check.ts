// pgpool's sizing rule, checked once at start when the backend is reachable: every child
// may hold max_pool connections, so PostgreSQL must allow num_init_children × max_pool.
import { firstBackend } from '../backend/address.js';
import { openServerConnection } from '../backend/connector.js';
import { simpleQuery } from '../backend/simple-query.js';
import { capacityWarning } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { PROTOCOL_3_0 } from '../protocol/codes.js';
import { sortedStartupPacket } from '../protocol/frontend-read.js';

const QUERY_TIMEOUT_MS = 10_000;

export async function checkBackendCapacity(cfg: PgpoolConfig, log: Logger): Promise<void> {
  const address = firstBackend(cfg);
  if (!address) return;
  const user = nodeValue(cfg.health_check_user, address.node) || 'postgres';
  const database = nodeValue(cfg.health_check_database, address.node) || 'postgres';
  const password = nodeValue(cfg.health_check_password, address.node);
  try {
    const key = sortedStartupPacket(PROTOCOL_3_0, [
      ['user', user],
      ['database', database],
      ['application_name', 'pgpool-ts'],
    ]);
    const { conn } = await openServerConnection(address, key, user, database, async () => password || undefined);
    try {
      const [[max, reserved]] = await simpleQuery(
        conn,
        "select current_setting('max_connections'), current_setting('superuser_reserved_connections')",
        QUERY_TIMEOUT_MS,
      );
      const warning = capacityWarning(cfg, Number(max), Number(reserved));
      if (warning) log.warn(warning);
    } finally {
      conn.close();
    }
  } catch (e) {
    log.info(`could not check the backend's max_connections (as user "${user}"): ${(e as Error).message}`);
  }
}
