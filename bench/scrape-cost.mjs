#!/usr/bin/env node
// Cost of one /metrics scrape with num_init_children = 1000 (every worker asked for its
// metrics and reports). Not part of CI. After `npm run build`: node bench/scrape-cost.mjs
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../dist/dev/free-port.js';
import { startPostgres } from '../dist/dev/postgres-instance.js';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pg = await startPostgres({ port: await freePort() });
const port = await freePort(),
  mport = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-'));
fs.chmodSync(dir, 0o777);
fs.writeFileSync(
  path.join(dir, 'pgpool.conf'),
  [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `pid_file_name = '${dir}/p.pid'`,
    `pcp_port = ${await freePort()}`,
    `pcp_socket_dir = '${dir}'`,
    `backend_hostname0 = '127.0.0.1'`,
    `backend_port0 = ${pg.port}`,
    'num_init_children = 1000',
    'max_pool = 4',
    `metrics_port = ${mport}`,
    "metrics_listen_addresses = '127.0.0.1'",
    '',
  ].join('\n'),
);
const proc = spawn(process.execPath, [path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', path.join(dir, 'pgpool.conf')], {
  stdio: ['ignore', 'ignore', 'ignore'],
});
await sleep(4000);
// The first scrape timed by curl: Node's fetch loads undici on first use, which is the client's cost, not the pooler's.
const { execFileSync } = await import('node:child_process');
const curlFirst =
  Number(
    execFileSync('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{time_total}',
      `http://127.0.0.1:${mport}/metrics`,
    ]).toString(),
  ) * 1000;
await fetch(`http://127.0.0.1:${mport}/nothing`); // warms fetch up
const times = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const r = await fetch(`http://127.0.0.1:${mport}/metrics`);
  const txt = await r.text();
  times.push(performance.now() - t0);
  if (i === 0) console.log('bytes', txt.length, 'lines', txt.split('\n').length);
}

console.log('first scrape (curl) ms', curlFirst.toFixed(1));
times.sort((a, b) => a - b);
console.log('scrape ms median', times[10].toFixed(1), 'p95', times[18].toFixed(1), 'max', times[19].toFixed(1));
proc.kill('SIGINT');
await new Promise((r) => proc.once('exit', r));
await pg.stop();
