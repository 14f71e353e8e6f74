// pino, configured from pgpool's logging parameters. JSON lines on stderr (journald
// keeps them); pgpool's log_min_messages levels map onto pino's.
import pino, { type Logger } from 'pino';

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

export function createLogger(name: string, pgpoolLevel: string): Logger {
  // pgpool's default log_min_messages is "warning", which would hide start-up and
  // connection lines; pgpool-ts always keeps its own LOG-class lines (info).
  const level = pinoLevel(pgpoolLevel);
  return pino({ name, level: level === 'warn' || level === 'error' || level === 'fatal' ? 'info' : level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
