// syslog priorities and tags.
import { describe, expect, it } from 'vitest';
import { loggerArgs, syslogPriority } from '../../../src/logging/syslog.js';

describe('syslog', () => {
  it('maps levels as PostgreSQL does onto the facility', () => {
    expect(syslogPriority('{"level":30,"msg":"x"}', 'LOCAL0')).toBe(134);
    expect(syslogPriority('{"level":40,"msg":"x"}', 'local7')).toBe(23 * 8 + 5);
    expect(syslogPriority('2026-11-22 05:02:00: pgpool-ts pid 1: ERROR:  bad', 'LOCAL0')).toBe(128 + 4);
    expect(syslogPriority('... FATAL:  gone', 'LOCAL1')).toBe(136 + 3);
    expect(loggerArgs({ ident: 'pgpool', facility: 'LOCAL0', socket: '/dev/log' })).toEqual([
      '--prio-prefix',
      '-t',
      'pgpool',
      '-u',
      '/dev/log',
      '--socket-errors=on',
    ]);
    expect(loggerArgs({ ident: 'p', facility: 'LOCAL0', socket: 'udp://[::1]:514' })).toEqual([
      '--prio-prefix',
      '-t',
      'p',
      '-d',
      '-n',
      '::1',
      '-P',
      '514',
    ]);
  });
});
