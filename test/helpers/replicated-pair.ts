// A primary and a streaming standby for the cluster tests (src/dev/replicated-pair.ts),
// with the database the tests use.
import { freePort } from './ports.js';
import { queryAs, startReplicatedPair, type ReplicatedPair } from '../../src/dev/replicated-pair.js';

export type { ReplicatedPair } from '../../src/dev/replicated-pair.js';

/** A pair whose primary has database `app` with table `t (id serial, v text)` and sequence `s`, created before the copy. */
export async function startAppPair(): Promise<ReplicatedPair> {
  return startReplicatedPair(await freePort(), await freePort(), {
    init: async (port) => {
      await queryAs(port, 'CREATE DATABASE app');
      await queryAs(port, 'CREATE TABLE t (id serial PRIMARY KEY, v text)', 'app');
      await queryAs(port, 'CREATE SEQUENCE s', 'app');
    },
  });
}
