// pid_file_name: written at start, removed at exit; a stale one (its process gone) is
// detected and replaced, a live one stops a second start.
import fs from 'node:fs';
import path from 'node:path';

/** Where pid_file_name points: relative to the directory of pgpool.conf. */
export function pidFilePath(cfg: { readonly pid_file_name: string }, configDir: string): string {
  return path.resolve(configDir, cfg.pid_file_name);
}

export function readPid(file: string): number | undefined {
  try {
    const pid = parseInt(fs.readFileSync(file, 'utf8').replace(/\0/g, '').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type PidFileResult = { ok: true; stale?: number } | { ok: false; message: string };

export function writePidFile(file: string, pid: number = process.pid): PidFileResult {
  const existing = readPid(file);
  if (existing !== undefined && existing !== pid && isAlive(existing)) {
    return { ok: false, message: `pid file found. is another pgpool-ts (${existing}) running? (${file})` };
  }
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${pid}\n`, { mode: 0o600 });
  } catch (e) {
    return { ok: false, message: `could not write pid file "${file}": ${(e as Error).message}` };
  }
  return existing !== undefined && existing !== pid ? { ok: true, stale: existing } : { ok: true };
}

export function removePidFile(file: string, pid: number = process.pid): void {
  if (readPid(file) === pid) fs.rmSync(file, { force: true });
}
