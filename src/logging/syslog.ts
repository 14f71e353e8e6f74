// log_destination = syslog: lines go to the system logger through util-linux's
// `logger --prio-prefix`, one long-lived process reading our lines, each prefixed with
// its syslog priority (facility × 8 + severity), as PostgreSQL maps its levels.
import { spawn, type ChildProcess } from 'node:child_process';

const FACILITY: Readonly<Record<string, number>> = {
  LOCAL0: 16,
  LOCAL1: 17,
  LOCAL2: 18,
  LOCAL3: 19,
  LOCAL4: 20,
  LOCAL5: 21,
  LOCAL6: 22,
  LOCAL7: 23,
};
// pino level → syslog severity: debug 7, LOG/info 6, WARNING notice 5, ERROR warning 4, FATAL err 3 (PostgreSQL's mapping).
const BY_PINO: Readonly<Record<string, number>> = { '10': 7, '20': 7, '30': 6, '40': 5, '50': 4, '60': 3 };
const BY_WORD: Readonly<Record<string, number>> = { DEBUG: 7, LOG: 6, WARNING: 5, ERROR: 4, FATAL: 3 };

/** The syslog severity of one line we wrote, JSON or text; DETAIL/HINT lines and others are info. */
export function syslogSeverity(line: string): number {
  const json = /"level":(\d+)/.exec(line);
  if (json) return BY_PINO[json[1]] ?? 6;
  const text = /\b(DEBUG|LOG|WARNING|ERROR|FATAL):  /.exec(line);
  return text ? BY_WORD[text[1]] : 6;
}

export function syslogPriority(line: string, facility: string): number {
  return (FACILITY[facility.toUpperCase()] ?? FACILITY.LOCAL0) * 8 + syslogSeverity(line);
}

export interface SyslogTarget {
  readonly ident: string;
  readonly facility: string;
  /** A Unix datagram socket path (default /dev/log) or udp://host:port. */
  readonly socket: string;
}

/** logger's arguments for a target. */
export function loggerArgs(t: SyslogTarget): string[] {
  const args = ['--prio-prefix', '-t', t.ident];
  const udp = /^udp:\/\/(.+):(\d+)$/.exec(t.socket);
  if (udp) args.push('-d', '-n', udp[1].replace(/^\[|\]$/g, ''), '-P', udp[2]);
  else args.push('-u', t.socket, '--socket-errors=on');
  return args;
}

/** A running `logger`; `failed` is called once with what it said when it could not deliver. */
export class SyslogWriter {
  private readonly proc: ChildProcess;
  private broken = false;

  constructor(
    readonly target: SyslogTarget,
    failed: (why: string) => void,
  ) {
    this.proc = spawn('logger', loggerArgs(target), { stdio: ['pipe', 'ignore', 'pipe'] });
    let said = '';
    const fail = (why: string) => {
      if (this.broken) return;
      this.broken = true;
      failed(why);
    };
    this.proc.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    this.proc.on('error', (e) => fail(`could not run logger: ${e.message}`));
    this.proc.on('exit', (code) => fail(`logger exited (code ${code})${said ? `: ${said.trim()}` : ''}`));
    this.proc.stdin!.on('error', () => {});
  }

  write(lines: string): void {
    if (this.broken) return;
    let out = '';
    for (const line of lines.split('\n'))
      if (line !== '') out += `<${syslogPriority(line, this.target.facility)}>${line}\n`;
    this.proc.stdin!.write(out);
  }

  close(): void {
    this.broken = true;
    this.proc.stdin!.end();
  }
}
