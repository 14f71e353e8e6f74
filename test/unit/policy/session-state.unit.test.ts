// Transaction pooling's session state, pure: what triggers a probe, how the probe's row is
// read, and the statements that carry a client's state to another backend connection.
import { describe, expect, it } from 'vitest';
import {
  customSettingNames,
  ident,
  isSinglePrepare,
  literal,
  NO_STATE,
  probeQuery,
  readProbe,
  restoreSql,
  scanSessionWords,
  tagChangesSession,
  textMayChangeSession,
} from '../../../src/policy/session-state.js';

describe('what may change session state', () => {
  it.each([
    ['SET', true],
    ['RESET', true],
    ['PREPARE', true],
    ['DEALLOCATE ALL', true],
    ['LISTEN', true],
    ['DECLARE CURSOR', true],
    ['DISCARD ALL', true],
    ['CREATE TABLE', true],
    ['SELECT 1', false],
    ['INSERT 0 1', false],
    ['COMMIT', false],
    ['BEGIN', false],
  ])('tag %s → %s', (tag, want) => expect(tagChangesSession(tag)).toBe(want));

  it.each([
    ['select pg_advisory_lock(1)', true],
    [`select set_config('a.b', 'x', false)`, true],
    ['create temporary table t as select 1', true],
    ['declare c cursor with hold for select 1', true],
    ['select * from accounts where id = $1', false],
  ])('text %s → %s', (sql, want) => expect(textMayChangeSession(sql)).toBe(want));

  it.each([
    ['select pg_advisory_lock(1)', true, false],
    ['SELECT PG_ADVISORY_LOCK(1)', true, false],
    [`select set_config('a.b', 'x', false)`, true, true],
    ['CREATE TEMPORARY TABLE t AS SELECT 1', true, false],
    ['declare c cursor with HOLD for select 1', true, false],
    [`SET myapp.tenant = 'acme'`, false, true],
    ['select a.id from accounts a offset 5', false, true],
    ['select * from accounts where id = $1', false, false],
  ])('bytes of %s: state %s, custom %s', (sql, state, custom) => {
    const b = Buffer.from(`xx${sql}\0`);
    expect(scanSessionWords(b, 2, b.length - 1)).toEqual({ state, custom });
    // The bytes agree with the text's own test.
    expect(state).toBe(textMayChangeSession(sql));
  });

  it.each([
    [`SET myapp.tenant = 'acme'`, ['myapp.tenant']],
    [`set session "MyApp".x to 1`, ['myapp.x']],
    [`RESET a.b; SET c.d = 1`, ['a.b', 'c.d']],
    [`select set_config('app.user_id', '7', false)`, ['app.user_id']],
    [`SET search_path = public`, []],
    [`SET LOCAL app.x = 1`, []],
  ])('custom names in %s', (sql, want) => expect(customSettingNames(sql)).toEqual(want));
});

describe('quoting', () => {
  it.each([
    ['plain', `'plain'`],
    [`it's`, `'it''s'`],
    ['C:\\dir', `E'C:\\\\dir'`],
  ])('literal(%s)', (s, want) => expect(literal(s)).toBe(want));

  it.each([
    ['TimeZone', '"TimeZone"'],
    ['myapp.x', '"myapp"."x"'],
    ['we"ird', '"we""ird"'],
  ])('ident(%s)', (s, want) => expect(ident(s)).toBe(want));
});

describe('the probe', () => {
  it('asks for custom parameters by name', () => {
    expect(probeQuery([])).toContain(`'{}'::text`);
    expect(probeQuery(['a.b'])).toContain(`json_build_object('a.b', current_setting('a.b', true))`);
  });

  it('reads settings, custom settings, SQL statements and what pins', () => {
    const r = readProbe([
      '{"search_path": "x, public", "TimeZone": "Asia/Tokyo"}',
      '{"app.t": "acme", "app.gone": "", "app.never": null}',
      '{"p1": "PREPARE p1(int) AS SELECT $1;", "p2": "PREPARE p2 AS SELECT 1; SELECT 2"}',
      '1',
      '0',
      '2',
      '0',
    ]);
    expect([...r.settings]).toEqual([
      ['search_path', 'x, public'],
      ['timezone', 'Asia/Tokyo'],
      ['app.t', 'acme'],
    ]);
    expect([...r.sqlPrepared.keys()]).toEqual(['p1', 'p2']);
    expect(r.pins).toEqual(['PREPARE', 'LISTEN', 'temporary tables']);
  });

  it('pins nothing for a clean session', () => {
    expect(readProbe(['{}', '{}', '{}', '0', '0', '0', '0']).pins).toEqual([]);
  });

  it('refuses a row of another shape', () => {
    expect(() => readProbe(['{}'])).toThrow('the state probe returned 1 columns');
  });
});

describe('restoring a client on another connection', () => {
  const state = (settings: Record<string, string>, prepared: Record<string, string> = {}) => ({
    settings: new Map(Object.entries(settings)),
    sqlPrepared: new Map(Object.entries(prepared)),
  });

  it.each([
    ['nothing to do', NO_STATE, NO_STATE, undefined],
    [
      'sets what differs',
      state({ TimeZone: 'UTC' }),
      state({ TimeZone: 'Asia/Tokyo', 'app.t': 'a' }),
      `SELECT pg_catalog.set_config('TimeZone', 'Asia/Tokyo', false), pg_catalog.set_config('app.t', 'a', false)`,
    ],
    [
      'resets what the client lacks',
      state({ work_mem: '8MB', 'app.t': 'x' }),
      NO_STATE,
      'RESET "work_mem"; RESET "app"."t"',
    ],
    [
      'replaces SQL prepared statements',
      state({}, { a: 'PREPARE a AS SELECT 1', b: 'PREPARE b AS SELECT 2;' }),
      state({}, { b: 'PREPARE b AS SELECT 2;', c: 'PREPARE c AS SELECT 3;' }),
      'DEALLOCATE "a"; PREPARE c AS SELECT 3',
    ],
    [
      'redefines a statement of the same name',
      state({}, { a: 'PREPARE a AS SELECT 1' }),
      state({}, { a: 'PREPARE a AS SELECT 9' }),
      'DEALLOCATE "a"; PREPARE a AS SELECT 9',
    ],
  ])('%s', (_name, on, want, sql) => expect(restoreSql(on, want)).toBe(sql));
});

describe('a PREPARE that can be replayed alone', () => {
  it.each([
    ['PREPARE p AS SELECT 1', true],
    ['PREPARE p AS SELECT 1;', true],
    [`PREPARE p AS SELECT ';' || $x$;$x$ -- ;\n`, true],
    ['PREPARE p AS SELECT 1; SELECT 2', false],
    ['prepare p as select /* ; */ 1', true],
    ['SELECT 1', false],
  ])('%s → %s', (text, want) => expect(isSinglePrepare(text)).toBe(want));
});
