// Pure logic of logging and the session commands: file names and rotation (simulated
// time), syslog priorities, DETAIL lines and log_error_verbosity, configuration
// notation, PGPOOL command parsing, query timing and the client-message framer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logFileName, nextRotationTime, openMode, rotationDue } from '../../src/logging/rotation.js';
import { LineJoiner, LogOutput } from '../../src/logging/log-output.js';
import { loggerArgs, syslogPriority } from '../../src/logging/syslog.js';
import { createLogger, sessionLogger, textLine } from '../../src/logging/logger.js';
import { configNotation } from '../../src/config/conf-values.js';
import { PARAMS } from '../../src/config/schema.js';
import { defaultConfig } from '../../src/config/conf-loader.js';
import { SessionSettings } from '../../src/config/session-settings.js';
import { parsePgpoolCommand } from '../../src/admin/pgpool-commands.js';
import { DurationCounts } from '../../src/metrics/duration-histogram.js';
import { RequestTiming } from '../../src/worker/relay/request-timing.js';
import { ClientMessageLog } from '../../src/worker/relay/client-message-log.js';
import { SCAN_CONTINUE } from '../../src/protocol/header-scanner.js';
import { StreamState } from '../../src/protocol/stream-state.js';
import type { Logger } from '../../src/logging/logger.js';

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

describe('PGPOOL commands and session settings', () => {
  it('print values in configuration notation', () => {
    expect(configNotation(PARAMS.get('log_rotation_age')!, 1440)).toBe('1d');
    expect(configNotation(PARAMS.get('log_rotation_size')!, 10240)).toBe('10MB');
    expect(configNotation(PARAMS.get('log_rotation_size')!, 1000)).toBe('1000kB');
    expect(configNotation(PARAMS.get('client_idle_limit')!, 90)).toBe('90s');
    expect(configNotation(PARAMS.get('client_idle_limit')!, 0)).toBe('0');
    expect(configNotation(PARAMS.get('log_statement')!, true)).toBe('on');
    expect(configNotation(PARAMS.get('listen_addresses')!, ['a', 'b'])).toBe('a,b');
  });

  it('parse SHOW, SET (=, TO, quoted, DEFAULT) and RESET, and point at what they cannot parse', () => {
    expect(parsePgpoolCommand('pgpool show ALL;')).toEqual({ kind: 'show', name: 'all' });
    expect(parsePgpoolCommand('  PGPOOL SET log_statement = on')).toEqual({
      kind: 'set',
      name: 'log_statement',
      value: 'on',
    });
    expect(parsePgpoolCommand("PGPOOL SET client_idle_limit TO '5min'")).toEqual({
      kind: 'set',
      name: 'client_idle_limit',
      value: '5min',
    });
    expect(parsePgpoolCommand("PGPOOL SET x TO 'it''s'")).toEqual({ kind: 'set', name: 'x', value: "it's" });
    expect(parsePgpoolCommand('PGPOOL SET log_statement TO DEFAULT')).toEqual({ kind: 'reset', name: 'log_statement' });
    expect(parsePgpoolCommand('PGPOOL RESET all')).toEqual({ kind: 'reset', name: 'all' });
    expect(parsePgpoolCommand('PGPOOL SET = 1')).toEqual({ kind: 'syntax', near: '=' });
    expect(parsePgpoolCommand('PGPOOL FROB x')).toEqual({ kind: 'syntax', near: 'FROB' });
    expect(parsePgpoolCommand('SELECT 1')).toBeUndefined();
  });

  it('keep overrides per session over a configuration that a reload may change', () => {
    let cfg = defaultConfig();
    const s = new SessionSettings(() => cfg);
    expect(s.set('log_statement', 'on')).toBeUndefined();
    expect(s.get('log_statement')).toBe(true);
    expect(s.set('client_idle_limit', '2min')).toBeUndefined();
    expect(s.get('client_idle_limit')).toBe(120);
    expect(s.set('port', '1')).toMatchObject({ sqlstate: '55P02' });
    expect(s.set('nope', '1')).toMatchObject({ sqlstate: '42704' });
    expect(s.set('log_error_verbosity', 'loud')).toMatchObject({ sqlstate: '22023' });
    cfg = { ...cfg, log_per_node_statement: true };
    expect(s.get('log_per_node_statement')).toBe(true);
    s.reset('all');
    expect(s.get('log_statement')).toBe(false);
  });
});

describe('request timing', () => {
  it('pairs each ReadyForQuery with its request, pipelined ones included, and ends transactions at status I', () => {
    const q = new DurationCounts();
    const t = new DurationCounts();
    const timing = new RequestTiming(q, t);
    const I = 0x49;
    const T = 0x54;
    timing.now = 0;
    timing.sent(); // BEGIN
    timing.now = 1;
    timing.ready(T);
    timing.now = 10;
    timing.sent(); // SELECT
    timing.now = 14;
    timing.ready(T);
    timing.now = 20;
    timing.sent(); // COMMIT and two pipelined autocommit queries
    timing.sent();
    timing.sent();
    timing.now = 22;
    timing.ready(I);
    timing.ready(I);
    timing.ready(I);
    timing.ready(I); // an answer to nothing (a reset's): ignored
    expect(q.count).toBe(5);
    expect(q.sum).toBeCloseTo((1 + 4 + 2 + 2 + 2) / 1000);
    expect(t.count).toBe(3);
    expect(t.sum).toBeCloseTo((22 + 2 + 2) / 1000);
  });

  it('counts, without timing, requests beyond the ring and keeps later pairs right', () => {
    const q = new DurationCounts();
    const timing = new RequestTiming(q, new DurationCounts());
    timing.now = 0;
    for (let i = 0; i < 300; i++) timing.sent();
    timing.now = 5;
    for (let i = 0; i < 300; i++) timing.ready(0x49);
    expect(q.count).toBe(256);
    timing.now = 10;
    timing.sent();
    timing.now = 13;
    timing.ready(0x49);
    expect(q.count).toBe(257);
    expect(q.sum).toBeCloseTo((256 * 5 + 3) / 1000);
  });
});

describe('client message framing for the logs', () => {
  function capture(): { log: Logger; lines: string[] } {
    const lines: string[] = [];
    const log = {
      info: (a: unknown, b?: string) =>
        lines.push(typeof a === 'string' ? a : `${b} ${(a as { detail?: string }).detail ?? ''}`.trim()),
    } as unknown as Logger;
    return { log, lines };
  }
  const msg = (type: string, body: Buffer) => {
    const b = Buffer.alloc(5 + body.length);
    b.write(type, 0, 'latin1');
    b.writeInt32BE(4 + body.length, 1);
    body.copy(b, 5);
    return b;
  };
  const cstr = (s: string) => Buffer.from(s + '\0');

  it('frames messages split anywhere across chunks and logs them as pgpool does', () => {
    const { log, lines } = capture();
    const m = new ClientMessageLog(log, { statement: true, perNodeStatement: true, clientMessages: true }, 4242);
    const stream = Buffer.concat([
      msg('Q', cstr('SELECT 1')),
      msg('P', Buffer.concat([cstr('s1'), cstr('SELECT $1'), Buffer.from([0, 0])])),
      msg('B', Buffer.concat([cstr(''), cstr('s1'), Buffer.alloc(6)])),
      msg('E', Buffer.concat([cstr(''), Buffer.alloc(4)])),
      msg('S', Buffer.alloc(0)),
      msg('d', Buffer.from('row1')),
      msg('d', Buffer.from('row2')),
      msg('c', Buffer.alloc(0)),
      msg('X', Buffer.alloc(0)),
    ]);
    // The relay's client scanner frames the stream and shows it to the log; the relay
    // consumes the Terminate itself (it never reaches a cached connection) and shows it too.
    const state = new StreamState();
    state.client.setTap(m);
    const terminate = msg('X', Buffer.alloc(0));
    const relayed = stream.subarray(0, stream.length - terminate.length);
    for (let i = 0; i < relayed.length; i += 3)
      expect(state.client.scan(relayed.subarray(i, i + 3))).toBe(SCAN_CONTINUE);
    expect(state.client.scan(terminate)).toBe(0);
    state.client.consumed(terminate, 0, terminate.length);
    expect(lines).toEqual([
      'Query message from frontend. query: "SELECT 1"',
      'statement: SELECT 1',
      'DB node id: 0 backend pid: 4242 statement: SELECT 1',
      'Parse message from frontend. statement: "s1", query: "SELECT $1"',
      'DB node id: 0 backend pid: 4242 statement: Parse: SELECT $1',
      'Bind message from frontend. portal: "", statement: "s1"',
      'DB node id: 0 backend pid: 4242 statement: B message',
      'Execute message from frontend. portal: ""',
      'statement: SELECT $1',
      'DB node id: 0 backend pid: 4242 statement: Execute: SELECT $1',
      'Sync message from frontend.',
      'DB node id: 0 backend pid: 4242 statement: S message',
      'CopyData message from frontend. count: 2',
      'CopyDone message from frontend.',
      'Terminate message from frontend.',
    ]);
  });
});
