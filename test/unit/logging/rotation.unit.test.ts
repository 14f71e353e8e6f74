// Log file names and rotation, with simulated time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logFileName, nextRotationTime, openMode, rotationDue } from '../../../src/logging/rotation.js';
import { LineJoiner, LogOutput } from '../../../src/logging/log-output.js';

const at = (h: number, m = 0, s = 0, day = 22) => new Date(2026, 10, day, h, m, s).getTime();

describe('log file names and rotation', () => {
  it('expand log_filename in local time', () => {
    expect(logFileName('pgpool-%Y-%m-%d_%H%M%S.log', at(5, 2, 9))).toBe('pgpool-2026-11-22_050209.log');
    expect(logFileName('%a-%b-%y-%j-%%-%q', at(0))).toBe('Sun-Nov-26-326-%-%q');
  });

  it('rotate by age at multiples of log_rotation_age from local midnight, and by size', () => {
    expect(nextRotationTime(at(5, 2), 60)).toBe(at(6));
    expect(nextRotationTime(at(23, 59), 1440)).toBe(at(0, 0, 0, 23));
    expect(nextRotationTime(at(5), 0)).toBe(Infinity);
    expect(rotationDue({ nextByAge: at(6), size: 100 }, at(5, 59), 1)).toBeUndefined();
    expect(rotationDue({ nextByAge: at(6), size: 1024 }, at(5, 59), 1)).toBe('size');
    expect(rotationDue({ nextByAge: at(6), size: 1024 }, at(5, 59), 0)).toBeUndefined();
    expect(rotationDue({ nextByAge: at(6), size: 0 }, at(6), 1)).toBe('age');
    expect(openMode('age', true, false)).toBe('truncate');
    expect(openMode('size', true, false)).toBe('append');
    expect(openMode('age', false, false)).toBe('append');
    expect(openMode('start', true, false)).toBe('append');
  });

  it('LogOutput rotates files by size and by age with a simulated clock, truncating a reused name only on an age rotation', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-logout-'));
    let now = at(5, 0, 0);
    const out = new LogOutput(() => now);
    const collector = {
      directory: dir,
      filename: 'p-%H%M%S.log',
      rotationAgeMinutes: 0,
      rotationSizeKb: 1,
      truncateOnRotation: false,
      fileMode: 0o640,
    };
    out.configure({ stderr: true, syslog: undefined, collector });
    const line = 'x'.repeat(599) + '\n';
    out.write(line);
    now += 1000;
    out.write(line); // 1200 bytes now in p-050000.log
    now += 1000;
    out.write(line); // over 1 kB: rotates first
    expect(fs.readdirSync(dir).sort()).toEqual(['p-050000.log', 'p-050002.log']);
    expect(fs.statSync(path.join(dir, 'p-050000.log')).size).toBe(1200);
    expect(fs.statSync(path.join(dir, 'p-050002.log')).mode & 0o777).toBe(0o640);

    // Hourly files named by hour, truncated when the name comes round again.
    out.configure({
      stderr: true,
      syslog: undefined,
      collector: {
        ...collector,
        filename: 'h-%H.log',
        rotationSizeKb: 0,
        rotationAgeMinutes: 60,
        truncateOnRotation: true,
      },
    });
    fs.writeFileSync(path.join(dir, 'h-06.log'), 'yesterday\n');
    out.write('at five\n');
    now = at(6, 0, 1);
    out.write('at six\n');
    expect(fs.readFileSync(path.join(dir, 'h-05.log'), 'utf8')).toBe('at five\n');
    expect(fs.readFileSync(path.join(dir, 'h-06.log'), 'utf8')).toBe('at six\n');
    out.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('LineJoiner passes whole lines only and flushes the rest at the end', () => {
    const got: string[] = [];
    const j = new LineJoiner((l) => got.push(l));
    j.push('a\nb');
    j.push('c\nd\n');
    j.push('tail');
    j.flush();
    expect(got).toEqual(['a\n', 'bc\nd\n', 'tail\n']);
  });
});
