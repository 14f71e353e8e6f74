// Read load balancing in transaction pooling mode, against a real primary and a real
// streaming standby (node 0 the standby with all the weight, node 1 the primary): a
// transaction whose first request is one read outside a transaction block runs on the
// standby once the catalog facts of that read are known (asked on the primary after its
// first run); writes, transaction blocks and what follows a read in the same pipeline go
// to the primary; the client's SET follows it to the standby's connection.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';
import { closeRawConnections, messagesFrom, rawConnect, startupPacket } from '../../helpers/raw.js';
import { pollUntil } from '../../helpers/poll.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { portOf, primaryFound, routingConf, withClient } from '../../helpers/routing.js';
import { tcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const run = promisify(execFile);
let pair: ReplicatedPair;
let p: Pooler;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  pair = await startAppPair();
  p = await startPooler(routingConf(pair, { pool_mode: 'transaction', max_pool: 1 }));
  await primaryFound(p);
});

afterAll(async () => {
  closeRawConnections();
  await stopAllPoolers();
  await proxy?.stop();
  await pair?.stop();
});

/** The ports `sql` ran on, run `times` times in a row. */
async function ports(c: pg.Client, sql: string, times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push(await portOf(c, sql));
  return out;
}

describe('load balancing in transaction pooling mode', () => {
  it('runs a read on the primary first (its facts asked there), then on the standby', async () => {
    await withClient(p, async (c) => {
      const sql = 'SELECT inet_server_port() AS port, 1 AS first_test';
      expect(await ports(c, sql, 3)).toEqual([pair.primary.port, pair.standby.port, pair.standby.port]);
      // A table's read too, once its relation is known not to be temporary or unlogged.
      const t = 'SELECT inet_server_port() AS port, count(*) AS n FROM t';
      expect(await ports(c, t, 2)).toEqual([pair.primary.port, pair.standby.port]);
    });
  });

  it('keeps writes, transaction blocks and volatile functions on the primary', async () => {
    await withClient(p, async (c) => {
      const write = "INSERT INTO t (v) VALUES ('tx-lb') RETURNING inet_server_port() AS port";
      expect(await ports(c, write, 2)).toEqual([pair.primary.port, pair.primary.port]);
      const volatile = "SELECT nextval('s') > 0 AS ok, inet_server_port() AS port";
      expect(await ports(c, volatile, 2)).toEqual([pair.primary.port, pair.primary.port]);
      await portOf(c, 'SELECT inet_server_port() AS port, 2 AS block_test');
      await c.query('BEGIN');
      expect(await ports(c, 'SELECT inet_server_port() AS port, 2 AS block_test', 2)).toEqual([
        pair.primary.port,
        pair.primary.port,
      ]);
      await c.query('COMMIT');
      expect(await portOf(c, 'SELECT inet_server_port() AS port, 2 AS block_test')).toBe(pair.standby.port);
    });
  });

  it("carries the client's SET to the standby's connection", async () => {
    await withClient(p, async (c) => {
      await c.query("SET application_name = 'tx-lb-client'");
      const sql = "SELECT inet_server_port() AS port, current_setting('application_name') AS app";
      await c.query(sql);
      const { rows } = await c.query(sql);
      expect(rows[0]).toEqual({ port: pair.standby.port, app: 'tx-lb-client' });
    });
  });

  it('balances a named statement of the extended protocol by its text', async () => {
    await withClient(p, async (c) => {
      const q = { name: 'tx_lb_named', text: 'SELECT inet_server_port() AS port, $1::int AS x', values: [5] };
      const seen: unknown[] = [];
      for (let i = 0; i < 3; i++) seen.push((await c.query(q)).rows[0]);
      expect(seen.at(-1)).toEqual({ port: pair.standby.port, x: 5 });
      expect(seen[0]).toEqual({ port: pair.primary.port, x: 5 });
    });
  });

  it('sends the standby one request: a write pipelined behind a read runs on the primary', async () => {
    const read = 'SELECT inet_server_port() AS port, 3 AS pipelined';
    await withClient(p, (c) => ports(c, read, 2));
    const raw = await rawConnect(p.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app' }));
    const at = (await raw.ready()).length;
    raw.send(
      Buffer.concat([
        serialize.query(read),
        serialize.query("INSERT INTO t (v) VALUES ('piped') RETURNING inet_server_port()"),
      ]),
    );
    await pollUntil(
      () => messagesFrom(raw.received(), at).filter(([t]) => t === 'Z').length === 2,
      'two ReadyForQuery',
    );
    const messages = messagesFrom(raw.received(), at);
    expect(messages.filter(([t]) => t === 'E')).toEqual([]);
    const rows = messages
      .filter(([t]) => t === 'D')
      .map(([, body]) => body.toString('utf8', 6, 6 + body.readInt32BE(2)));
    expect(rows).toEqual([String(pair.standby.port), String(pair.primary.port)]);
    // Two statements under one Sync (a driver's batch) are one request: all of it on the primary.
    const from = raw.received().length;
    raw.send(
      Buffer.concat([
        serialize.parse({ text: read }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.parse({ text: "INSERT INTO t (v) VALUES ('batched') RETURNING inet_server_port()" }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    await pollUntil(() => messagesFrom(raw.received(), from).some(([t]) => t === 'Z'), 'the batch answered');
    const batch = messagesFrom(raw.received(), from);
    expect(batch.filter(([t]) => t === 'E')).toEqual([]);
    expect(
      batch.filter(([t]) => t === 'D').map(([, body]) => body.toString('utf8', 6, 6 + body.readInt32BE(2))),
    ).toEqual([String(pair.primary.port), String(pair.primary.port)]);
  });

  it('statement_level_load_balance with weights 1 : 1: one session’s reads go to both nodes; without it, all to one', async () => {
    const sql = 'SELECT inet_server_port() AS port, 5 AS statement_level';
    const weights = { pool_mode: 'transaction', max_pool: 1, backend_weight0: 1, backend_weight1: 1 };
    const perTransaction = await startPooler(routingConf(pair, { ...weights, statement_level_load_balance: true }));
    await primaryFound(perTransaction);
    await withClient(perTransaction, async (c) => {
      await portOf(c, sql); // the first run teaches the read's facts, on the primary
      expect(new Set(await ports(c, sql, 40))).toEqual(new Set([pair.standby.port, pair.primary.port]));
      // A write keeps nothing on the primary here (no causal_reads): the reads balance on.
      await c.query("INSERT INTO t (v) VALUES ('statement level')");
      expect(new Set(await ports(c, sql, 40))).toEqual(new Set([pair.standby.port, pair.primary.port]));
    });
    await perTransaction.stop();
    const perSession = await startPooler(routingConf(pair, weights));
    await primaryFound(perSession);
    await withClient(perSession, async (c) => {
      await portOf(c, sql);
      expect(new Set(await ports(c, sql, 40)).size).toBe(1);
    });
    await perSession.stop();
  });

  it('runs pgbench -S with reads on the standby and no failed transaction', async () => {
    await run('pgbench', ['-h', p.host, '-p', String(p.port), '-U', 'postgres', '-i', '-q', '-s', '1', 'app']);
    const select = async () => (await withClient(p, (c) => c.query('SHOW pool_nodes'))).rows[0].select_cnt;
    const before = Number(await select());
    const { stdout } = await run('pgbench', [
      ...['-h', p.host, '-p', String(p.port), '-U', 'postgres', '-n', '-S', '-M', 'extended'],
      ...['-c', '8', '-j', '2', '-t', '200', 'app'],
    ]);
    expect(stdout).toMatch(/number of transactions actually processed: 1600\/1600/);
    expect(stdout).toMatch(/number of failed transactions: 0 /);
    // Most of the 1,600 reads ran on the standby (node 0); the first of each text taught the facts.
    expect(Number(await select()) - before).toBeGreaterThan(1500);
  });

  it('serves a read on the primary when the load-balance node cannot be reached, and balances again after', async () => {
    proxy = await tcpProxy(pair.standby.host, pair.standby.port);
    const q = await startPooler(
      routingConf(pair, {
        pool_mode: 'transaction',
        max_pool: 1,
        backend_port0: proxy.port,
        failover_on_backend_error: false,
        sr_check_period: 0,
      }),
    );
    await primaryFound(q);
    await withClient(q, async (c) => {
      const sql = 'SELECT inet_server_port() AS port, 4 AS unreachable';
      expect(await ports(c, sql, 2)).toEqual([pair.primary.port, pair.standby.port]);
      proxy!.drop('eof');
      await proxy!.stop();
      // The pool sees its idle standby connection close (a transaction on it before that would lose it).
      await new Promise((r) => setTimeout(r, 300));
      expect(await ports(c, sql, 2)).toEqual([pair.primary.port, pair.primary.port]);
      await proxy!.start();
      expect(await portOf(c, sql)).toBe(pair.standby.port);
    });
    const status = await withClient(q, async (c) => (await c.query('SHOW pool_nodes')).rows[0].status);
    expect(status).toBe('up');
    expect(q.logs()).toMatch(/failed to connect to PostgreSQL server of node 0/);
  });
});
