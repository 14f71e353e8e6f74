// Which PostgreSQL the children connect to: the first configured backend.
import { configuredBackends } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { BackendTarget } from './server-connection.js';

export function backendTarget(cfg: PgpoolConfig): BackendTarget | undefined {
  const node = configuredBackends(cfg)[0];
  if (node === undefined) return undefined;
  // An empty backend_hostname means pgpool's compiled-in socket directory.
  const host = nodeValue(cfg.backend_hostname, node) || '/tmp';
  return {
    node,
    host,
    port: nodeValue(cfg.backend_port, node),
    connectTimeoutMs: nodeValue(cfg.connect_timeout, node),
    ssl: cfg.ssl,
  };
}
