// The command itself: --check-config lists every problem with file and line, --version,
// and the start-up warning about the backend's capacity.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
afterAll(stopAllPoolers);

describe('pgpool-ts --check-config', () => {
  it('lists every problem with file:line and exits non-zero', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(
      f,
      "num_init_children = abc\nPort = 5555\nlog_connections = maybe\nbackend_hostname0 = 'db'\nbackend_port0 = 5432\nmemory_cache_enabled = on\n",
    );
    fs.writeFileSync(path.join(dir, 'pcp.conf'), 'admin:notahash\n');
    const r = await cli('--check-config', '-f', f);
    fs.rmSync(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${f}:1: error: invalid value for parameter "num_init_children": "abc"`);
    expect(r.stdout).toContain(`${f}:2: warning: unrecognized configuration parameter "Port" (did you mean "port"?)`);
    expect(r.stdout).toContain(`${f}:3: error: invalid value for parameter "log_connections": "maybe"`);
    expect(r.stdout).toContain(`${path.join(dir, 'pcp.conf')}:1: error: password of user "admin" is not an md5 hash`);
    expect(r.stdout).toContain(
      `${f}:6: info: parameter "memory_cache_enabled" is accepted but not implemented by pgpool-ts yet`,
    );
    expect(r.stdout).toContain(`${f}: 3 error(s)`);
  });

  it('exits 0 on the shipped conf/pgpool.conf', async () => {
    const r = await cli('--check-config', '-f', path.join(repoRoot, 'conf/pgpool.conf'));
    expect(r.stdout).toContain('configuration is valid');
    expect(r.code).toBe(0);
  });

  it('refuses to start on an invalid file with exit code 3, naming file, line and parameter', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(f, '\n\nmax_pool = -1\n');
    const r = await cli('-n', '-f', f);
    fs.rmSync(dir, { recursive: true });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `${f}:3: error: -1 is outside the valid range for parameter "max_pool" (0 .. 2147483647)`,
    );
  });

  it('prints its version', async () => {
    const r = await cli('--version');
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(r.stdout.trim()).toBe(`pgpool-ts ${pkg.version} (pgpool-II 4.8 compatible)`);
  });
});

describe('start-up capacity check', () => {
  it('warns when num_init_children × max_pool exceeds what PostgreSQL allows', async () => {
    const p = await startPooler({ num_init_children: 60, max_pool: 4 });
    const line = await p.waitForLog(/exceeds what the backend allows/);
    expect(JSON.parse(line).msg).toBe(
      'num_init_children (60) × max_pool (4) = 240 exceeds what the backend allows (max_connections 200 − superuser_reserved_connections 3 = 197); clients may get "sorry, too many clients already" from PostgreSQL',
    );
    await p.stop();
  });
});

describe('log_format = text', () => {
  it('writes pgpool-style lines with log_line_prefix instead of JSON', async () => {
    const p = await startPooler({ log_format: 'text', log_line_prefix: '%t: %a pid %p: ' });
    const line = await p.waitForLog(/successfully started/);
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: pgpool-ts pid \d+: LOG:  pgpool-ts successfully started  \(/,
    );
    expect(p.logs()).not.toContain('{"level"');
    await p.stop();
  });
});
