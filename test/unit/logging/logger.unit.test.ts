// Text log lines with DETAIL and log_error_verbosity, and a session's own level and verbosity.
import { describe, expect, it } from 'vitest';
import { createLogger, sessionLogger, textLine } from '../../../src/logging/logger.js';

const at = (h: number, m = 0, s = 0, day = 22) => new Date(2026, 10, day, h, m, s).getTime();

describe('text lines with DETAIL and log_error_verbosity', () => {
  const rec = {
    level: 50,
    time: at(5),
    pid: 7,
    name: 'pgpool-ts',
    msg: 'failed to authenticate',
    detail: 'password mismatch',
    hint: 'check pool_passwd',
    sqlstate: '28P01',
  };
  it('default: DETAIL and HINT lines with the prefix, SQLSTATE among the fields', () => {
    expect(textLine(rec, '%p: ')).toBe(
      '7: ERROR:  failed to authenticate  (sqlstate=28P01)\n7: DETAIL:  password mismatch\n7: HINT:  check pool_passwd\n',
    );
  });
  it('terse: no DETAIL or HINT; verbose: SQLSTATE before the message', () => {
    expect(textLine(rec, '%p: ', 'terse')).toBe('7: ERROR:  failed to authenticate  (sqlstate=28P01)\n');
    expect(textLine(rec, '%p: ', 'verbose')).toBe(
      '7: ERROR:  28P01: failed to authenticate\n7: DETAIL:  password mismatch\n7: HINT:  check pool_passwd\n',
    );
  });
});

describe("a session's own log_error_verbosity and log_min_messages (PGPOOL SET)", () => {
  it("override the configuration in that session's lines only, text and JSON", () => {
    const lines: string[] = [];
    const base = createLogger('w', 'warning', { format: 'text', linePrefix: '', errorVerbosity: 'default' }, (l) =>
      lines.push(l),
    );
    const fields = { detail: 'd', sqlstate: '28P01' };
    sessionLogger(base, 'warning', 'verbose').error(fields, 'bad');
    sessionLogger(base, 'warning', 'terse').error(fields, 'bad');
    base.error(fields, 'bad');
    expect(lines).toEqual([
      'ERROR:  28P01: bad\nDETAIL:  d\n',
      'ERROR:  bad  (sqlstate=28P01)\n',
      'ERROR:  bad  (sqlstate=28P01)\nDETAIL:  d\n',
    ]);
    const json: string[] = [];
    const jbase = createLogger('w', 'warning', { format: 'json', linePrefix: '' }, (l) => json.push(l));
    const quiet = sessionLogger(jbase, 'warning', 'terse');
    const chatty = sessionLogger(jbase, 'debug1', 'default');
    quiet.error(fields, 'bad');
    quiet.debug('hidden');
    chatty.debug('shown');
    expect(
      json
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map(({ msg, detail, errorVerbosity }) => ({ msg, detail, errorVerbosity })),
    ).toEqual([
      { msg: 'bad', detail: undefined, errorVerbosity: 'terse' },
      { msg: 'shown', detail: undefined, errorVerbosity: 'default' },
    ]);
  });
});
