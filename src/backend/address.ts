// Where one PostgreSQL is and how to reach it: a host name, an IP address or a unix
// socket directory, with the node's port and connect_timeout. The one place a socket to
// PostgreSQL is opened (sessions, cancel requests, the capacity check).
import net from 'node:net';
import path from 'node:path';
import { configuredBackends } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';

export interface BackendAddress {
  readonly node: number;
  /** Host name, IP address, or a directory holding PostgreSQL's unix socket. */
  readonly host: string;
  readonly port: number;
  /** connect_timeout of the node (ms, 0 = none). */
  readonly connectTimeoutMs: number;
  /** ssl = on: ask PostgreSQL for TLS (TCP only) and use it when offered. */
  readonly ssl?: boolean;
}

/** Idle time before the first keepalive probe on a connection to PostgreSQL. */
const BACKEND_KEEPALIVE_MS = 60_000;

export const isSocketDirectory = (host: string): boolean => host.startsWith('/');

function socketPath(a: Pick<BackendAddress, 'host' | 'port'>): string {
  return path.join(a.host, `.s.PGSQL.${a.port}`);
}

/** The address as log lines and errors name it. */
export function describeAddress(a: Pick<BackendAddress, 'host' | 'port'>): string {
  return isSocketDirectory(a.host) ? socketPath(a) : `${a.host}:${a.port}`;
}

/** The address of configured node `node` (an empty backend_hostname is pgpool's compiled-in /tmp). */
export function nodeAddress(cfg: PgpoolConfig, node: number): BackendAddress {
  return {
    node,
    host: nodeValue(cfg.backend_hostname, node) || '/tmp',
    port: nodeValue(cfg.backend_port, node),
    connectTimeoutMs: nodeValue(cfg.connect_timeout, node),
    ssl: cfg.ssl,
  };
}

/** The first configured backend's address, or undefined when none is configured. */
export function firstBackend(cfg: PgpoolConfig): BackendAddress | undefined {
  const node = configuredBackends(cfg)[0];
  return node === undefined ? undefined : nodeAddress(cfg, node);
}

/** A connected socket to PostgreSQL (TCP_NODELAY and keepalive on), within `timeoutMs` when > 0. */
export function connectSocket(a: Pick<BackendAddress, 'host' | 'port'>, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = isSocketDirectory(a.host) ? net.connect(socketPath(a)) : net.connect({ host: a.host, port: a.port });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => socket.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs)
        : undefined;
    socket.once('connect', () => {
      if (timer) clearTimeout(timer);
      socket.off('error', reject);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, BACKEND_KEEPALIVE_MS);
      resolve(socket);
    });
    socket.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
  });
}
