// psycopg2 and pgJDBC through load balancing over a real primary and streaming standby
// (reads to the standby, node 0): reads of both drivers reach the standby, pgJDBC's named
// statements too; writes and the reads after them in a transaction reach the primary,
// also when pgJDBC sends BEGIN in the same Sync as the first statement.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type Pooler } from '../../helpers/pooler.js';
import { startAppPair, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { direct, primaryFound, routingConf } from '../../helpers/routing.js';
import { fixturesDir } from '../../helpers/shared.js';

const run = promisify(execFile);
const DRIVERS = path.join(fixturesDir, 'drivers');

let pair: ReplicatedPair;
let p: Pooler;

beforeAll(async () => {
  pair = await startAppPair();
  p = await startPooler(routingConf(pair, { log_connections: false, log_disconnections: false }));
  await primaryFound(p);
});

afterAll(async () => {
  await stopAllPoolers();
  await pair?.stop();
});

async function seen(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(cmd, [...args, '127.0.0.1', String(p.port), 'app'], { timeout: 90_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

async function rowsOnPrimary(v: string): Promise<number> {
  const c = await direct(pair.primary);
  try {
    return (await c.query('select count(*)::int n from t where v = $1', [v])).rows[0].n;
  } finally {
    await c.end();
  }
}

describe('drivers through load balancing', () => {
  it('psycopg2: reads to the standby, a write and the read after it to the primary', async () => {
    const out = await seen('/usr/bin/python3', [path.join(DRIVERS, 'psycopg_routing.py')]);
    expect(out).toEqual({
      readPort: pair.standby.port,
      afterWritePort: pair.primary.port,
      nextReadPort: pair.standby.port,
      cursorRows: 1000,
      cursorSum: 500500,
    });
    expect(await rowsOnPrimary('psycopg')).toBe(1);
  });

  it('pgJDBC: named statements read from the standby; BEGIN in the first Sync reaches both; writes to the primary', async () => {
    const out = await seen('java', ['-cp', '/usr/share/java/postgresql.jar', path.join(DRIVERS, 'JdbcRouting.java')]);
    expect(out).toEqual({
      values: [1, 2, 3, 4, 5, 6, 7, 8],
      readPorts: Array(8).fill(pair.standby.port),
      inserted: 6,
      txPorts: [pair.standby.port, pair.standby.port, pair.primary.port],
      sameNowOnStandby: true,
    });
    expect(await rowsOnPrimary('jdbc')).toBe(6);
    expect(await rowsOnPrimary('jdbc tx')).toBe(1);
  });
});
