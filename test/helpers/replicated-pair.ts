// A primary and a streaming standby for the cluster tests (src/dev/replicated-pair.ts),
// with the database the tests use.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopAllPoolers } from './pooler.js';
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

/**
 * Pairs and scratch directories a destructive test file makes (each test may promote or
 * stop a node, so each gets a fresh pair); `cleanup` (afterAll) stops the poolers, then
 * the pairs, and removes the directories.
 */
export function scratch(): {
  pair(): Promise<ReplicatedPair>;
  dir(prefix: string): string;
  cleanup(): Promise<void>;
} {
  const pairs: ReplicatedPair[] = [];
  const dirs: string[] = [];
  return {
    pair: async () => {
      const p = await startAppPair();
      pairs.push(p);
      return p;
    },
    dir: (prefix) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: async () => {
      await stopAllPoolers();
      for (const p of pairs) await p.stop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
