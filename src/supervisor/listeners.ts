// The listening sockets, for clients and for PCP alike: addresses × port over TCP and
// `.s.PGSQL.<port>` in each socket directory, with pgpool's backlog and socket permissions.
// A socket file left by a process that is gone is replaced; one that answers is someone
// else's and is left alone (docs/behaviour.md#admission). A socket file is bound under a
// temporary name and renamed into place: libuv unlinks the name a server was bound to when
// it closes, and the supervisor closes servers it stops accepting on while the socket lives
// on in the workers (accept-control.ts).
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface ListenSpec {
  readonly addresses: readonly string[];
  readonly port: number;
  readonly socketDirs: readonly string[];
  readonly socketPermissions: number;
  readonly socketGroup: string;
  /** The TCP backlog (unix sockets get 10000, as pgpool's). */
  readonly backlog?: number;
  /** Accepted sockets stay paused (they are handed to a worker unread). */
  readonly pauseOnConnect?: boolean;
}

export interface OpenListeners {
  readonly servers: net.Server[];
  /** The listen() backlog of each server. */
  readonly backlogs: number[];
  /** Human-readable list of what is listening. */
  readonly where: string[];
  readonly socketFiles: string[];
  /**
   * Stops accepting and removes the socket files. Does not wait for connections to end:
   * sockets handed to workers count as the server's until the worker closes them.
   */
  close(): void;
}

/** pgpool's backlog for its unix socket. */
const UNIX_BACKLOG = 10000;
let temporaryNames = 0;

async function resolveAddresses(entries: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of entries) {
    if (e === '*') out.push('0.0.0.0', '::');
    else if (net.isIP(e)) out.push(e);
    else for (const r of await dns.lookup(e, { all: true })) out.push(r.address);
  }
  return [...new Set(out)];
}

function listen(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Whether a process answers on a unix socket file. */
function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function openListeners(
  spec: ListenSpec,
  onConnection: (s: net.Socket) => void,
  warn: (msg: string) => void,
): Promise<OpenListeners> {
  const servers: net.Server[] = [];
  const backlogs: number[] = [];
  const where: string[] = [];
  const socketFiles: string[] = [];
  const make = () => {
    // TCP_NODELAY is set on the accepted socket here and travels with it to a worker.
    const s = net.createServer({ pauseOnConnect: spec.pauseOnConnect === true, noDelay: true }, onConnection);
    s.on('error', (e) => warn(`listener error: ${e.message}`));
    return s;
  };
  for (const host of await resolveAddresses(spec.addresses)) {
    const server = make();
    try {
      await listen(server, { host, port: spec.port, backlog: spec.backlog, ipv6Only: net.isIPv6(host) });
      servers.push(server);
      backlogs.push(spec.backlog ?? 511);
      where.push(net.isIPv6(host) ? `[${host}]:${spec.port}` : `${host}:${spec.port}`);
    } catch (e) {
      // pgpool 4.4+: a failing address is skipped with a warning.
      warn(`could not listen on ${host}:${spec.port}: ${(e as Error).message}`);
    }
  }
  for (const dir of spec.socketDirs) {
    const file = path.join(dir, `.s.PGSQL.${spec.port}`);
    try {
      if (fs.existsSync(file)) {
        if (await answers(file)) throw new Error('another process is listening on it');
        fs.rmSync(file, { force: true });
      }
      const server = make();
      // Shorter than .s.PGSQL.<port>, so it fits wherever the real name does.
      const bound = path.join(dir, `.s.${process.pid}${temporaryNames++ % 10}`);
      fs.rmSync(bound, { force: true });
      await listen(server, { path: bound, backlog: UNIX_BACKLOG });
      fs.chmodSync(bound, spec.socketPermissions);
      if (spec.socketGroup !== '') execFileSync('chgrp', [spec.socketGroup, bound]);
      fs.renameSync(bound, file);
      servers.push(server);
      backlogs.push(UNIX_BACKLOG);
      where.push(file);
      socketFiles.push(file);
    } catch (e) {
      warn(`could not create unix socket ${file}: ${(e as Error).message}`);
    }
  }
  return {
    servers,
    backlogs,
    where,
    socketFiles,
    close: () => {
      for (const s of servers) s.close();
      for (const f of socketFiles) fs.rmSync(f, { force: true });
    },
  };
}
