// pino, configured from pgpool's logging parameters. JSON lines on stderr (journald keeps
// them), or text lines with pgpool's log_line_prefix (log_format; auto = text on a
// terminal). pgpool's log_min_messages levels map onto pino's.
import fs from 'node:fs';
import pino, { type Logger } from 'pino';
import { localTimestamp } from './local-time.js';

export type { Logger };

/** pgpool level → pino level. debug1..5 are all "debug"; log/info are "info". */
export function pinoLevel(pgpoolLevel: string): pino.LevelWithSilent {
  if (pgpoolLevel.startsWith('debug')) return 'debug';
  switch (pgpoolLevel) {
    case 'info':
    case 'notice':
    case 'log':
      return 'info';
    case 'warning':
      return 'warn';
    case 'error':
      return 'error';
    case 'fatal':
    case 'panic':
      return 'fatal';
    default:
      return 'info';
  }
}

const SEVERITY: Record<number, string> = { 10: 'DEBUG', 20: 'DEBUG', 30: 'LOG', 40: 'WARNING', 50: 'ERROR', 60: 'FATAL' };

/**
 * One pino record as a text line: log_line_prefix (%m time with ms, %t time, %p pid,
 * %a process name, %u user, %d database, %% percent; other escapes are dropped), pgpool's
 * "SEVERITY:  message", then the remaining fields as key=value.
 */
export function textLine(rec: Record<string, unknown>, prefix: string): string {
  const { level, time, pid, name, msg, user, database, ...rest } = rec as { level: number; time: number; pid: number; name: string; msg?: string; user?: string; database?: string };
  const p = prefix.replace(/%(.)/g, (_, c: string) => {
    switch (c) {
      case 'm': return localTimestamp(time, true);
      case 't': return localTimestamp(time);
      case 'p': return String(pid);
      case 'a': return name ?? '';
      case 'u': return user ?? '';
      case 'd': return database ?? '';
      case '%': return '%';
      default: return '';
    }
  });
  const extra = Object.entries({ user, database, ...rest })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${p}${SEVERITY[level] ?? 'LOG'}:  ${msg ?? ''}${extra ? `  (${extra})` : ''}\n`;
}

export interface LogFormat {
  readonly format: 'auto' | 'json' | 'text';
  readonly linePrefix: string;
}

export function createLogger(name: string, pgpoolLevel: string, fmt: LogFormat = { format: 'json', linePrefix: '' }): Logger {
  // pgpool's default log_min_messages is "warning", which would hide start-up and
  // connection lines; pgpool-ts always keeps its own LOG-class lines (info).
  const level = pinoLevel(pgpoolLevel);
  const options = { name, level: level === 'warn' || level === 'error' || level === 'fatal' ? 'info' : level, base: { pid: process.pid } };
  const text = fmt.format === 'text' || (fmt.format === 'auto' && process.stderr.isTTY === true);
  if (!text) return pino(options, pino.destination({ fd: 2, sync: true }));
  return pino(options, {
    write(line: string) {
      try {
        fs.writeSync(2, textLine(JSON.parse(line) as Record<string, unknown>, fmt.linePrefix));
      } catch {
        // stderr gone: nothing to report it to
      }
    },
  });
}
