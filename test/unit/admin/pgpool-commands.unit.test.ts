// PGPOOL SHOW / SET / RESET and the session settings they change: parsing, answers, errors.
import { describe, expect, it } from 'vitest';
import { configNotation } from '../../../src/config/conf-values.js';
import { PARAMS } from '../../../src/config/schema.js';
import { defaultConfig } from '../../../src/config/conf-loader.js';
import { SessionSettings } from '../../../src/config/session-settings.js';
import { parsePgpoolCommand } from '../../../src/admin/pgpool-commands.js';

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
    const running = { config: defaultConfig() };
    const s = new SessionSettings(running);
    expect(s.set('log_statement', 'on')).toBeUndefined();
    expect(s.get('log_statement')).toBe(true);
    expect(s.set('client_idle_limit', '2min')).toBeUndefined();
    expect(s.get('client_idle_limit')).toBe(120);
    expect(s.set('port', '1')).toMatchObject({ sqlstate: '55P02' });
    expect(s.set('nope', '1')).toMatchObject({ sqlstate: '42704' });
    expect(s.set('log_error_verbosity', 'loud')).toMatchObject({ sqlstate: '22023' });
    running.config = { ...running.config, log_per_node_statement: true };
    expect(s.get('log_per_node_statement')).toBe(true);
    s.reset('all');
    expect(s.get('log_statement')).toBe(false);
  });
});
