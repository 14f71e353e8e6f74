// Where every log line of pgpool-ts ends up. The supervisor owns this: its own lines and
// its workers' stderr (piped to it) pass through here, so one process decides between
// stderr, the collector's files (logging_collector, with rotation) and syslog, and
// reopens or rotates on SIGHUP. Workers keep writing plain lines to their stderr.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { PgpoolConfig } from '../config/schema.js';
import { logFileName, nextRotationTime, openMode, rotationDue } from './rotation.js';
import { SyslogWriter, type SyslogTarget } from './syslog.js';

export interface CollectorSettings {
  readonly directory: string;
  readonly filename: string;
  readonly rotationAgeMinutes: number;
  readonly rotationSizeKb: number;
  readonly truncateOnRotation: boolean;
  readonly fileMode: number;
}

export interface LogOutputSettings {
  /** log_destination has stderr (to the collector's files when it runs). */
  readonly stderr: boolean;
  /** log_destination has syslog. */
  readonly syslog: SyslogTarget | undefined;
  /** logging_collector = on. */
  readonly collector: CollectorSettings | undefined;
}

interface OpenFile {
  readonly path: string;
  readonly fd: number;
  size: number;
  nextByAge: number;
}

export class LogOutput {
  private settings: LogOutputSettings = { stderr: true, syslog: undefined, collector: undefined };
  private readonly stderr = pino.destination({ fd: 2, sync: true });
  private file: OpenFile | undefined;
  private syslog: SyslogWriter | undefined;
  private ageTimer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** At start and on each reload. A changed file name or directory rotates at once. */
  configure(next: LogOutputSettings): void {
    const before = this.settings;
    this.settings = next;
    if (JSON.stringify(before.syslog) !== JSON.stringify(next.syslog)) {
      this.syslog?.close();
      this.syslog = next.syslog
        ? new SyslogWriter(next.syslog, (why) => this.toStderr(`WARNING:  syslog output stopped: ${why}\n`))
        : undefined;
    }
    if (!next.collector) {
      this.closeFile();
    } else if (
      !this.file ||
      before.collector?.directory !== next.collector.directory ||
      before.collector?.filename !== next.collector.filename
    ) {
      this.openNext('start');
    } else if (before.collector?.rotationAgeMinutes !== next.collector.rotationAgeMinutes) {
      this.scheduleAge(this.file, this.now());
    }
  }

  /** SIGHUP: reopen the file in case logrotate moved it away, keeping the name. */
  reopen(): void {
    if (this.settings.collector && (!this.file || !fs.existsSync(this.file.path))) this.openNext('reopen');
  }

  /** Whole lines, each ending in a newline. */
  readonly write = (lines: string): void => {
    if (this.settings.syslog) this.syslog?.write(lines);
    if (!this.settings.stderr) return;
    const c = this.settings.collector;
    // No file (it could not be opened): stderr, until a reload or SIGHUP tries again.
    if (!c || !this.file) return this.toStderr(lines);
    const cause = rotationDue(this.file, this.now(), c.rotationSizeKb);
    if (cause) this.openNext(cause);
    if (!this.file) return this.toStderr(lines);
    try {
      const n = fs.writeSync(this.file.fd, lines);
      this.file.size += n;
    } catch (e) {
      this.toStderr(`WARNING:  could not write to log file "${this.file.path}": ${(e as Error).message}\n${lines}`);
    }
  };

  close(): void {
    this.closeFile();
    this.syslog?.close();
    this.syslog = undefined;
  }

  private toStderr(lines: string): void {
    try {
      this.stderr.write(lines);
    } catch {
      // stderr is gone: nothing left to tell
    }
  }

  private openNext(cause: 'start' | 'age' | 'size' | 'reopen'): void {
    const c = this.settings.collector!;
    const t = this.now();
    const dir = c.directory;
    const file = path.join(dir, logFileName(c.filename, t));
    if (cause === 'size' && file === this.file?.path) {
      // The pattern gives the same name again (PostgreSQL appends): count the size anew.
      this.file.size = 0;
      return;
    }
    const mode = openMode(cause, c.truncateOnRotation, file === this.file?.path);
    let fd: number;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fd = fs.openSync(file, mode === 'truncate' ? 'w' : 'a', c.fileMode);
    } catch (e) {
      this.closeFile();
      this.toStderr(`WARNING:  could not open log file "${file}": ${(e as Error).message}; logging to stderr\n`);
      return;
    }
    this.closeFile();
    this.file = { path: file, fd, size: fs.fstatSync(fd).size, nextByAge: Infinity };
    this.scheduleAge(this.file, t);
  }

  /** The file's next age rotation from log_rotation_age, and a timer for it: PostgreSQL's logger rotates even when nothing is written. */
  private scheduleAge(file: OpenFile, t: number): void {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    file.nextByAge = nextRotationTime(t, this.settings.collector!.rotationAgeMinutes);
    this.ageTimer = Number.isFinite(file.nextByAge)
      ? setTimeout(() => this.tick(), Math.min(file.nextByAge - t, 3_600_000)).unref()
      : undefined;
  }

  /** Timers wait an hour at most, so a clock change is noticed. */
  private tick(): void {
    const file = this.file;
    if (!this.settings.collector || !file) return;
    const t = this.now();
    if (t >= file.nextByAge) this.openNext('age');
    else this.ageTimer = setTimeout(() => this.tick(), Math.min(file.nextByAge - t, 3_600_000)).unref();
  }

  private closeFile(): void {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (this.file) fs.closeSync(this.file.fd);
    this.file = undefined;
  }
}

/** Splits a worker's stderr into whole lines for LogOutput; a partial line waits for its end. */
export class LineJoiner {
  private partial = '';

  constructor(private readonly out: (lines: string) => void) {}

  push(data: Buffer | string): void {
    const text = this.partial + data.toString();
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(end + 1);
    this.out(text.slice(0, end + 1));
  }

  /** The stream ended: what is left is a line too. */
  flush(): void {
    if (this.partial !== '') this.out(this.partial + '\n');
    this.partial = '';
  }
}

/** The output's settings from the configuration; relative log_directory is from pgpool.conf's directory. */
export function logOutputSettings(cfg: PgpoolConfig, configDir: string): LogOutputSettings {
  const destinations = new Set(cfg.log_destination.split(',').map((d) => d.trim()));
  return {
    stderr: destinations.has('stderr'),
    syslog: destinations.has('syslog')
      ? { ident: cfg.syslog_ident, facility: cfg.syslog_facility, socket: cfg.syslog_socket }
      : undefined,
    collector: cfg.logging_collector
      ? {
          directory: path.resolve(configDir, cfg.log_directory),
          filename: cfg.log_filename,
          rotationAgeMinutes: cfg.log_rotation_age,
          rotationSizeKb: cfg.log_rotation_size,
          truncateOnRotation: cfg.log_truncate_on_rotation,
          fileMode: cfg.log_file_mode,
        }
      : undefined,
  };
}
