// Drivers other than Node's, as applications run them: psycopg2 (libpq, simple protocol,
// implicit transactions, named cursors, COPY) and pgJDBC (extended protocol, a
// PreparedStatement turned into a named server statement after five executions, batches),
// in session mode and in transaction mode with two children, where a third client's held
// transaction makes the next one land on the other backend connection.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { fixturesDir } from '../helpers/shared.js';

const run = promisify(execFile);
const DRIVERS = path.join(fixturesDir, 'drivers');
const PYTHON = '/usr/bin/python3'; // Debian's, with python3-psycopg2 (.ci/run installs it)
const JDBC_JAR = '/usr/share/java/postgresql.jar'; // Debian's libpostgresql-jdbc-java

afterAll(stopAllPoolers);

const modes = [
  ['session', {}],
  ['transaction', { pool_mode: 'transaction' }],
] as const;

async function pooler(extra: Record<string, string | boolean>): Promise<Pooler> {
  return startPooler({
    ...extra,
    num_init_children: 2,
    max_pool: 1,
    worker_processes: 1,
    log_connections: false,
    log_disconnections: false,
  });
}

/** What `run` printed as JSON on its last line. */
async function seen(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(cmd, args, { timeout: 90_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** The pids a client saw, in order: one in session mode; in transaction mode they alternate between two. */
function expectPids(mode: string, pids: number[]): void {
  const distinct = new Set(pids);
  if (mode === 'session') {
    expect(distinct.size).toBe(1);
    return;
  }
  expect(distinct.size).toBe(2);
  for (let i = 1; i < pids.length; i++) expect(pids[i]).not.toBe(pids[i - 1]);
}

describe.each(modes)('psycopg2, %s mode', (mode, extra) => {
  it('keeps SET, runs parameters, a named cursor, COPY both ways and an error', async () => {
    expect(fs.existsSync(PYTHON)).toBe(true);
    const p = await pooler(extra);
    const out = await seen(PYTHON, [
      path.join(DRIVERS, 'psycopg_workload.py'),
      '127.0.0.1',
      String(p.port),
      'app',
      `drivers_psycopg_${mode}`,
    ]);
    expect(out.timezones).toEqual(['Asia/Tokyo', 'Asia/Tokyo', 'Asia/Tokyo']);
    expectPids(mode, out.pids as number[]);
    expect(out.parameterStatusTimeZone).toBe('Asia/Tokyo');
    expect(out).toMatchObject({
      sum: 5,
      text: 'pgpool',
      cursorRows: 1000,
      cursorSum: 500500,
      copiedSum: '1275',
      errorCode: '42P01',
      afterError: 42,
    });
    await p.stop();
  });
});

describe.each(modes)('pgJDBC, %s mode', (mode, extra) => {
  it('runs a PreparedStatement past prepareThreshold, a batch, an error and SET', async () => {
    expect(fs.existsSync(JDBC_JAR)).toBe(true);
    const p = await pooler({ ...extra, log_client_messages: true });
    const out = await seen('java', [
      '-cp',
      JDBC_JAR,
      path.join(DRIVERS, 'JdbcWorkload.java'),
      '127.0.0.1',
      String(p.port),
      'app',
      `drivers_jdbc_${mode}`,
    ]);
    expect(out.doubled).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    // Executions 5 to 12 are the named statement "S_1": prepared on each backend it lands on.
    expectPids(mode, out.pids as number[]);
    // The driver did name it (log_client_messages): one Parse of "S_1", eight Binds of it.
    const lines = p
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; detail?: string; client?: string });
    const parse = lines.find(
      (l) =>
        l.msg === 'Parse message from frontend.' &&
        l.detail === 'statement: "S_1", query: "select $1::int * 2, pg_backend_pid()"',
    );
    expect(parse).toBeDefined();
    const binds = lines.filter(
      (l) =>
        l.client === parse!.client &&
        l.msg === 'Bind message from frontend.' &&
        l.detail === 'portal: "", statement: "S_1"',
    );
    expect(binds.length).toBe(8);
    expect(out).toMatchObject({
      batchCounts: 100,
      count: 100,
      sum: 5050,
      errorCode: '42P01',
      afterError: 'still here',
    });
    expect(out.searchPaths).toEqual(Array(6).fill('pg_catalog, public'));
    await p.stop();
  });
});
