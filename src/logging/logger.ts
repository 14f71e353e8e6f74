// pino, configured from pgpool's logging parameters. JSON lines on stderr (journald keeps
// them), or text lines with pgpool's log_line_prefix (log_format; auto = text on a
// terminal). pgpool's log_min_messages levels map onto pino's.
import pino, { type Logger } from 'pino';
import type { PgpoolConfig } from '../config/schema.js';
import { localTimestamp } from '../local-time.js';

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

const SEVERITY: Record<number, string> = {
  10: 'DEBUG',
  20: 'DEBUG',
  30: 'LOG',
  40: 'WARNING',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * One pino record as text: log_line_prefix (%m time with ms, %t time, %p pid, %a process
 * name, %u user, %d database, %% percent; other escapes are dropped), pgpool's
 * "SEVERITY:  message", the remaining fields as key=value, then DETAIL and HINT lines as
 * PostgreSQL writes them. log_error_verbosity: terse drops DETAIL and HINT, verbose puts
 * the SQLSTATE before the message.
 */
export function textLine(rec: Record<string, unknown>, prefix: string, configured: ErrorVerbosity = 'default'): string {
  const { level, time, pid, name, msg, user, database, detail, hint, sqlstate, errorVerbosity, ...rest } = rec as {
    level: number;
    time: number;
    pid: number;
    name: string;
    msg?: string;
    user?: string;
    database?: string;
    detail?: string;
    hint?: string;
    sqlstate?: string;
    errorVerbosity?: ErrorVerbosity;
  };
  // A session's PGPOOL SET log_error_verbosity travels in the record (sessionLogger).
  const verbosity = errorVerbosity ?? configured;
  const p = prefix.replace(/%(.)/g, (_, c: string) => {
    switch (c) {
      case 'm':
        return localTimestamp(time, true);
      case 't':
        return localTimestamp(time);
      case 'p':
        return String(pid);
      case 'a':
        return name ?? '';
      case 'u':
        return user ?? '';
      case 'd':
        return database ?? '';
      case '%':
        return '%';
      default:
        return '';
    }
  });
  const extra = Object.entries({
    user,
    database,
    ...(verbosity === 'verbose' || sqlstate === undefined ? {} : { sqlstate }),
    ...rest,
  })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const code = verbosity === 'verbose' && sqlstate ? `${sqlstate}: ` : '';
  let out = `${p}${SEVERITY[level] ?? 'LOG'}:  ${code}${msg ?? ''}${extra ? `  (${extra})` : ''}\n`;
  if (verbosity !== 'terse') {
    if (detail !== undefined) out += `${p}DETAIL:  ${detail}\n`;
    if (hint !== undefined) out += `${p}HINT:  ${hint}\n`;
  }
  return out;
}

export type ErrorVerbosity = 'terse' | 'default' | 'verbose';

export interface LogFormat {
  readonly format: 'json' | 'text';
  readonly linePrefix: string;
  readonly errorVerbosity?: ErrorVerbosity;
}

/**
 * log_format = auto: text where people read the lines (a terminal, or the collector's
 * files, which pgpool writes as text), JSON where journald or a log shipper does.
 */
export function resolveLogFormat(
  format: 'auto' | 'json' | 'text',
  collector: boolean,
  stderrIsTTY: boolean,
): 'json' | 'text' {
  if (format !== 'auto') return format;
  return collector || stderrIsTTY ? 'text' : 'json';
}

/** Where lines go by default: stderr, through SonicBoom, which retries a full pipe instead of dropping the line. */
let stderrDest: ReturnType<typeof pino.destination> | undefined;
function stderrWriter(): (line: string) => void {
  stderrDest ??= pino.destination({ fd: 2, sync: true });
  const dest = stderrDest;
  return (line) => dest.write(line);
}

/** pgpool's default log_min_messages is "warning", which would hide start-up and connection lines; pgpool-ts always keeps its own LOG-class lines (info). */
function keptLevel(pgpoolLevel: string): pino.LevelWithSilent {
  const level = pinoLevel(pgpoolLevel);
  return level === 'warn' || level === 'error' || level === 'fatal' ? 'info' : level;
}

const withoutDetail = ({ detail: _d, hint: _h, ...rest }: Record<string, unknown>) => rest;

/**
 * A session's logger when PGPOOL SET changed its log_min_messages or log_error_verbosity:
 * a child with that level, whose records carry the verbosity (textLine honours it; terse
 * also drops DETAIL and HINT from JSON).
 */
export function sessionLogger(base: Logger, pgpoolLevel: string, verbosity: ErrorVerbosity): Logger {
  return base.child(
    {},
    {
      level: keptLevel(pgpoolLevel),
      formatters: {
        log: (o: object) => ({
          ...(verbosity === 'terse' ? withoutDetail(o as Record<string, unknown>) : o),
          errorVerbosity: verbosity,
        }),
      },
    },
  );
}

/**
 * A pgpool-ts process's logger from the configuration: log_min_messages (debug1 with -d),
 * log_format (the workers get it already resolved), log_line_prefix, log_error_verbosity.
 */
export function configuredLogger(
  name: string,
  cfg: Pick<
    PgpoolConfig,
    'log_min_messages' | 'log_format' | 'logging_collector' | 'log_line_prefix' | 'log_error_verbosity'
  >,
  write?: (line: string) => void,
  debug = false,
): Logger {
  const format = resolveLogFormat(cfg.log_format, cfg.logging_collector, process.stderr.isTTY === true);
  return createLogger(
    name,
    debug ? 'debug1' : cfg.log_min_messages,
    { format, linePrefix: cfg.log_line_prefix, errorVerbosity: cfg.log_error_verbosity },
    write,
  );
}

export function createLogger(
  name: string,
  pgpoolLevel: string,
  fmt: LogFormat = { format: 'json', linePrefix: '' },
  write: (line: string) => void = stderrWriter(),
): Logger {
  const options = { name, level: keptLevel(pgpoolLevel), base: { pid: process.pid } };
  const text = fmt.format === 'text';
  const verbosity = fmt.errorVerbosity ?? 'default';
  if (!text) {
    if (verbosity !== 'terse') return pino(options, { write });
    return pino({ ...options, formatters: { log: withoutDetail } }, { write });
  }
  return pino(options, {
    write(line: string) {
      try {
        write(textLine(JSON.parse(line) as Record<string, unknown>, fmt.linePrefix, verbosity));
      } catch {
        // the output is gone: nothing to report it to
      }
    },
  });
}
