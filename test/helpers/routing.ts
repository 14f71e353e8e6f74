// What the routing tests share: a pooler over a replicated pair with node 0 the standby
// and node 1 the primary (all reads to the standby, weights 1 : 0), waiting until the
// primary is found, and where a statement ran (inet_server_port(), STABLE).
import pg from 'pg';
import type { ConfValues, Pooler } from './pooler.js';
import { pollUntil } from './poll.js';
import type { ReplicatedPair } from './replicated-pair.js';

export function routingConf(pair: ReplicatedPair, values: ConfValues = {}): ConfValues {
  return {
    backend_clustering_mode: 'streaming_replication',
    backend_hostname0: pair.standby.host,
    backend_port0: pair.standby.port,
    backend_application_name0: pair.standby.applicationName,
    backend_weight0: 1,
    backend_hostname1: pair.primary.host,
    backend_port1: pair.primary.port,
    backend_weight1: 0,
    load_balance_mode: true,
    sr_check_user: 'postgres',
    sr_check_period: 1,
    worker_processes: 1,
    num_init_children: 2,
    ...values,
  };
}

/** Waits until node 1 is found as the primary and a worker's SHOW says so. */
export async function primaryFound(pooler: Pooler): Promise<void> {
  await pooler.waitForLog(/find_primary_node: primary node is 1/);
  const c = new pg.Client(pooler.client('postgres', 'app'));
  await c.connect();
  // SHOW answers through the one worker after the node snapshot it was sent first.
  await pollUntil(async () => (await c.query('SHOW pool_nodes')).rows[1].role === 'primary', 'node 1 as primary');
  await c.end();
}

export async function withClient<T>(pooler: Pooler, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(pooler.client('postgres', 'app'));
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** The port of the node `sql` (returning a `port` column) ran on. */
export const portOf = async (c: pg.Client, sql = 'SELECT inet_server_port() AS port'): Promise<number> =>
  (await c.query(sql)).rows[0].port;

/** A connected client straight to one node of the pair, database `app`. */
export async function direct(node: { readonly host: string; readonly port: number }): Promise<pg.Client> {
  const c = new pg.Client({ host: node.host, port: node.port, user: 'postgres', database: 'app' });
  await c.connect();
  return c;
}

/** Waits until the standby has replayed far enough for `sql` (a boolean) to be true there. */
export async function standbyHas(pair: ReplicatedPair, sql: string): Promise<void> {
  const c = await direct(pair.standby);
  try {
    const holds = () =>
      c.query(sql).then(
        (r) => Object.values(r.rows[0])[0] === true,
        () => false,
      );
    await pollUntil(holds, `the standby: ${sql}`, 30_000);
  } finally {
    await c.end();
  }
}
