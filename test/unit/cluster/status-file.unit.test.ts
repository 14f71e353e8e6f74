// The pgpool_status file (docs/behaviour.md#pgpool-status): its lines for a snapshot,
// reading it back (a file saying nothing is up is bogus), -D, and no all-down file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freshNode, type NodeSnapshot } from '../../../src/ipc/node-snapshot.js';
import { readStatusFile, StatusFile, statusFilePath, statusLines } from '../../../src/cluster/status-file.js';
import { createLogger } from '../../../src/logging/logger.js';

const lines: string[] = [];
const log = createLogger('test', 'info', undefined, (l: string) => void lines.push(l));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-status-'));
const file = path.join(dir, 'pgpool_status');
afterEach(() => {
  fs.rmSync(file, { force: true });
  lines.length = 0;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (id: number, status: NodeSnapshot[number]['status']) => ({ ...freshNode(id, 'standby', 0), status });

describe('pgpool_status', () => {
  it('has a line per node id up to the highest, waiting written as up, gaps unused', () => {
    expect(statusLines([node(0, 'waiting'), node(1, 'up'), node(3, 'down')])).toEqual(['up', 'up', 'unused', 'down']);
  });

  it('is in logdir when set, else in work_dir, relative to the configuration directory', () => {
    expect(statusFilePath({ logdir: '', work_dir: 'run' }, '/etc/pgpool')).toBe('/etc/pgpool/run/pgpool_status');
    expect(statusFilePath({ logdir: '/var/log/x', work_dir: '/tmp' }, '/etc')).toBe('/var/log/x/pgpool_status');
  });

  it('is written on a change, never saying every node is down, and read back', () => {
    const f = new StatusFile(
      () => file,
      () => log,
    );
    f.update([node(0, 'up'), node(1, 'down')]);
    expect(fs.readFileSync(file, 'utf8')).toBe('up\ndown\n');
    f.update([node(0, 'down'), node(1, 'down')]);
    expect(fs.readFileSync(file, 'utf8')).toBe('up\ndown\n');
    expect(lines.join('')).toContain('All the DB nodes are in down status and skip writing status file.');
    expect([...readStatusFile(file, false, log)]).toEqual([
      [0, 'up'],
      [1, 'down'],
    ]);
    expect(lines.join('')).toContain('reading status file: 1 th backend is set to down status');
  });

  it('restores nothing from a missing file, a bogus one, or with -D (which removes it)', () => {
    expect(readStatusFile(file, false, log).size).toBe(0);
    expect(lines.join('')).toContain(`Backend status file ${file} does not exist`);
    fs.writeFileSync(file, 'down\ndown\n');
    expect(readStatusFile(file, false, log).size).toBe(0);
    fs.writeFileSync(file, 'up\nbroken\n');
    expect([...readStatusFile(file, false, log)]).toEqual([[0, 'up']]);
    expect(lines.join('')).toContain('invalid data in status file, ignoring...');
    expect(readStatusFile(file, true, log).size).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(lines.join('')).toContain(`Backend status file ${file} discarded`);
  });
});
