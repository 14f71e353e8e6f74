#!/usr/bin/env node
// Start-up time (issue 21): from exec to the port listening, and to the first query served,
// median of STARTS starts each, pgpool-ts and pgpool-II alternated, in front of one
// PostgreSQL started here. After `npm run build`:   node bench/startup.mjs
//   env: STARTS (10), CLIENTS (num_init_children, 32), TARGETS ("pgpool-ts pgpool2"),
//        SMALL_YOUNG (1: as deployed, --max-semi-space-size=1; 0: V8's default young generation)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
import { SMALL_YOUNG_GENERATION } from '../dist/node-flags.js';
import { HOST, PGPOOL, pgpool2Args, pgpool2Conf, pgpoolTsConf } from './targets.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const starts = Number(process.env.STARTS ?? 10);
const clients = Number(process.env.CLIENTS ?? 32);
const targets = (process.env.TARGETS ?? 'pgpool-ts pgpool2').split(/\s+/).filter(Boolean);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TIMEOUT_MS = 30_000;
const flags = process.env.SMALL_YOUNG === '0' ? [] : [SMALL_YOUNG_GENERATION];

const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, HOST);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function served(port) {
  const c = new pg.Client({ host: HOST, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function until(check, t0) {
  while (!(await check())) {
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error('timed out');
    await sleep(5);
  }
  return performance.now() - t0;
}

async function once(target, pgPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `startup-${target}-`));
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  const o = { dir, port, pcpPort: await freePort(), pgPort, clients, maxPool: 4 };
  let cmd, args;
  if (target === 'pgpool2') {
    fs.writeFileSync(path.join(dir, 'pgpool.conf'), pgpool2Conf(o));
    fs.writeFileSync(path.join(dir, 'pcp.conf'), '');
    fs.writeFileSync(path.join(dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
    [cmd, args] = pgpool2Args(dir);
  } else {
    fs.writeFileSync(path.join(dir, 'pgpool.conf'), pgpoolTsConf(o));
    const bin = path.join(root, 'bin/pgpool-ts.js');
    [cmd, args] = [process.execPath, [...flags, bin, '-n', '-f', path.join(dir, 'pgpool.conf')]];
  }
  const t0 = performance.now();
  const proc = spawn(cmd, args, { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const listen = await until(() => listening(port), t0);
    const query = await until(() => served(port), t0);
    return { listen, query };
  } finally {
    process.kill(-proc.pid, target === 'pgpool2' ? 'SIGINT' : 'SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => process.kill(-proc.pid, 'SIGKILL'))]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (targets.includes('pgpool2') && !fs.existsSync(PGPOOL))
  throw new Error(`${PGPOOL} not found (apt-get install pgpool2)`);
const db = await startPostgres({ port: await freePort() });
try {
  const got = Object.fromEntries(targets.map((t) => [t, []]));
  for (let i = 0; i < starts; i++)
    for (const t of i % 2 ? [...targets].reverse() : targets) got[t].push(await once(t, db.port));
  console.log(`| pooler | exec → LISTEN (median of ${starts}) | exec → first query served | range to first query |`);
  console.log('| --- | ---: | ---: | --- |');
  for (const t of targets) {
    const l = got[t].map((r) => r.listen);
    const q = got[t].map((r) => r.query);
    const ms = (x) => `${Math.round(x)} ms`;
    console.log(`| ${t} | ${ms(median(l))} | ${ms(median(q))} | ${ms(Math.min(...q))}–${ms(Math.max(...q))} |`);
  }
  console.log(
    `\nnode ${process.version}, num_init_children = ${clients}, ${os.cpus().length} cores, young generation ${flags.length ? '1 MB' : 'default'}`,
  );
} finally {
  await db.stop();
}
