// Installable: npm pack, then npm install -g of that tarball gives a working command.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);

describe('npm pack + npm install -g', () => {
  it('installs a pgpool-ts command that runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'install-'));
    try {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], {
        cwd: repoRoot,
        timeout: 120_000,
      });
      const tarball = path.join(dir, stdout.trim().split('\n').pop()!);
      const prefix = path.join(dir, 'prefix');
      await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], {
        timeout: 180_000,
      });
      const bin = path.join(prefix, 'bin/pgpool-ts');
      const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
      expect((await run(bin, ['--version'])).stdout.trim()).toBe(`pgpool-ts ${pkg.version} (pgpool-II 4.8 compatible)`);
      const check = await run(bin, [
        '--check-config',
        '-f',
        path.join(prefix, 'lib/node_modules/pgpool-ts/conf/pgpool.conf'),
      ]);
      expect(check.stdout).toContain('configuration is valid');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
