// Logical replication through pgpool-ts, against a PostgreSQL with wal_level = logical:
// a replication=database connection is never cached, so a temporary slot ends with its
// client and the reconnecting client can create it again; START_REPLICATION's CopyBoth
// stream is relayed both ways and client_idle_limit does not cut it; what streams through
// the pooler is what streams directly.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresInstance } from '../../src/dev/postgres-instance.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { firstError, messagesFrom, rawConnect, startupPacket, type RawConn } from '../helpers/raw.js';
import { query } from '../helpers/socket-pair.js';

let db: PostgresInstance;
let p: Pooler;

beforeAll(async () => {
  db = await startPostgres({ port: await freePort(), settings: { wal_level: 'logical', max_wal_senders: 10 } });
  const c = new pg.Client({ host: db.host, port: db.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query('CREATE DATABASE app');
  await c.end();
  const a = new pg.Client({ host: db.host, port: db.port, user: 'postgres', database: 'app' });
  await a.connect();
  await a.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
  await a.end();
  p = await startPooler({ backend_port0: db.port, num_init_children: 2, worker_processes: 1, client_idle_limit: 1 });
});

afterAll(async () => {
  await stopAllPoolers();
  await db?.stop();
});

/** A walsender session: connected with replication=database, past its ReadyForQuery. */
async function walsender(port: number): Promise<RawConn> {
  const raw = await rawConnect(port);
  raw.send(startupPacket({ user: 'postgres', database: 'app', replication: 'database' }));
  await raw.ready();
  return raw;
}

async function createSlot(raw: RawConn, slot: string): Promise<Record<string, string> | undefined> {
  const from = raw.received().length;
  raw.send(query(`CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL test_decoding`));
  const until = Date.now() + 10_000;
  while (!messagesFrom(raw.received(), from).some(([t]) => t === 'Z') && Date.now() < until)
    await new Promise((r) => setTimeout(r, 20));
  return firstError(raw.received().subarray(from));
}

/** The test_decoding text of the XLogData messages streamed after byte `from`. */
const decoded = (raw: RawConn, from: number) =>
  messagesFrom(raw.received(), from)
    .filter(([t, body]) => t === 'd' && body[0] === 0x77) // CopyData carrying XLogData ('w')
    .map(([, body]) => body.toString('utf8', 25));

async function insert(id: number, v: string): Promise<void> {
  const c = new pg.Client({ host: db.host, port: db.port, user: 'postgres', database: 'app' });
  await c.connect();
  await c.query('INSERT INTO t VALUES ($1, $2)', [id, v]);
  await c.end();
}

describe('replication connections', () => {
  it('are never cached: a temporary slot ends with its client and can be created again', async () => {
    for (let i = 0; i < 2; i++) {
      const raw = await walsender(p.port);
      expect(await createSlot(raw, 'pooled_slot')).toBeUndefined(); // the second time: no 42710
      raw.send(Buffer.from([0x58, 0, 0, 0, 4]));
      await raw.closed();
    }
    // The pooler closed each walsender when its client left; PostgreSQL's process exits a
    // moment later. A cached one would stay, idle, for good.
    const c = new pg.Client({ host: db.host, port: db.port, user: 'postgres', database: 'app' });
    await c.connect();
    let walsenders = -1;
    await pollUntil(
      async () =>
        (walsenders = (
          await c.query("select count(*)::int as n from pg_stat_activity where backend_type = 'walsender'")
        ).rows[0].n) === 0,
      () => `no walsender left (${walsenders} still there)`,
      5_000,
      50,
    );
    await c.end();
  });

  it('relay START_REPLICATION both ways, past client_idle_limit, with what a direct connection streams', async () => {
    const viaPooler = await walsender(p.port);
    const direct = await walsender(db.port);
    expect(await createSlot(viaPooler, 'through_pooler')).toBeUndefined();
    expect(await createSlot(direct, 'direct_slot')).toBeUndefined();
    const starts = [viaPooler, direct].map((raw, i) => {
      const from = raw.received().length;
      raw.send(query(`START_REPLICATION SLOT ${i === 0 ? 'through_pooler' : 'direct_slot'} LOGICAL 0/0`));
      return from;
    });
    await new Promise((r) => setTimeout(r, 2500)); // longer than client_idle_limit = 1
    expect(messagesFrom(viaPooler.received(), starts[0]).map(([t]) => t)[0]).toBe('W'); // CopyBothResponse
    await insert(42, 'via-pooler');
    // Both streams get the change in their own time: wait for each before comparing them.
    const until = Date.now() + 10_000;
    const hasChange = (raw: RawConn, from: number) => decoded(raw, from).some((d) => d.startsWith('table'));
    while (Date.now() < until && !(hasChange(viaPooler, starts[0]) && hasChange(direct, starts[1])))
      await new Promise((r) => setTimeout(r, 50));
    const changes = (raw: RawConn, from: number) =>
      decoded(raw, from).filter((d) => !d.startsWith('BEGIN') && !d.startsWith('COMMIT'));
    expect(changes(viaPooler, starts[0])).toEqual(["table public.t: INSERT: id[integer]:42 v[text]:'via-pooler'"]);
    expect(changes(viaPooler, starts[0])).toEqual(changes(direct, starts[1]));
    expect(viaPooler.socket.destroyed).toBe(false);
    for (const raw of [viaPooler, direct]) raw.socket.destroy();
  });
});

describe('a replication connection in transaction pooling mode', () => {
  it('keeps its backend for the whole session: a temporary slot it made is still its own', async () => {
    const tx = await startPooler({
      backend_port0: db.port,
      pool_mode: 'transaction',
      num_init_children: 2,
      max_pool: 1,
      worker_processes: 1,
    });
    const raw = await rawConnect(tx.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app', replication: 'database' }));
    await raw.ready();
    const run = async (sql: string) => {
      const before = raw.received().length;
      raw.send(query(sql));
      for (;;) {
        const got = raw.received().subarray(before);
        if (messagesFrom(got).some(([t]) => t === 'Z')) return got;
        await raw.read(raw.received().length + 1, 10_000);
      }
    };
    expect(firstError(await run('CREATE_REPLICATION_SLOT tx_tmp TEMPORARY LOGICAL test_decoding'))).toBeUndefined();
    const own = await run(
      `SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tx_tmp' AND active_pid = pg_backend_pid()`,
    );
    const row = messagesFrom(own).find(([t]) => t === 'D')![1];
    expect(row.toString('utf8', 2 + 4)).toBe('1');
    // Between its commands it holds its child and backend: SHOW says why.
    expect((await run('SHOW pool_processes')).toString('latin1')).toContain('replication connection');
    raw.socket.destroy();
    await tx.stop();
  });
});
