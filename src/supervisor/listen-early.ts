// The first thing a start does (docs/behaviour.md#admission): write the pid file and bind
// the client listeners, before the rest of the supervisor and the workers are loaded, so
// the port listens within a few hundred milliseconds of exec and clients that come during
// start-up wait instead of being refused. Only light modules are imported here.
import type net from 'node:net';
import path from 'node:path';
import type { PgpoolConfig } from '../config/schema.js';
import { listenBacklog } from '../policy/admission.js';
import { openListeners, type OpenListeners } from './listeners.js';
import { pidFilePath, removePidFile, writePidFile } from './pid-file.js';

export interface EarlyStart {
  readonly listeners: OpenListeners;
  readonly pidFile: string;
  /** What the listeners could not bind (logged once a logger exists). */
  readonly warnings: readonly string[];
  /** A pid file found from a process that is gone. */
  readonly stalePid: number | undefined;
  /** Hands every socket accepted so far, and every later one, to `handler`. */
  adopt(handler: (socket: net.Socket) => void): void;
}

export async function listenEarly(cfg: PgpoolConfig, configDir: string): Promise<EarlyStart> {
  const pidFile = pidFilePath(cfg, configDir);
  const pid = writePidFile(pidFile);
  if (!pid.ok) throw new Error(pid.message);
  const held: net.Socket[] = [];
  let handler: ((socket: net.Socket) => void) | undefined;
  const warnings: string[] = [];
  const listeners = await openListeners(
    {
      addresses: cfg.listen_addresses,
      port: cfg.port,
      socketDirs: cfg.unix_socket_directories.map((d) => path.resolve(configDir, d)),
      socketPermissions: cfg.unix_socket_permissions,
      socketGroup: cfg.unix_socket_group,
      backlog: listenBacklog(cfg),
      pauseOnConnect: true,
    },
    // Accepted paused: a socket held here is handed on unread.
    (socket) => (handler ? handler(socket) : held.push(socket)),
    (m) => warnings.push(m),
  );
  if (listeners.servers.length === 0) {
    listeners.close();
    removePidFile(pidFile);
    throw new Error(
      `could not listen on any address: check listen_addresses, port and unix_socket_directories (${warnings.join('; ')})`,
    );
  }
  return {
    listeners,
    pidFile,
    warnings,
    stalePid: pid.stale,
    adopt: (h) => {
      handler = h;
      for (const s of held.splice(0)) h(s);
    },
  };
}
