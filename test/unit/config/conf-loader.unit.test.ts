// Every syntax case of pgpool-conf-syntax.md, with the value pgpool itself reads
// (observed on pgpool-II 4.3.5) or, where pgpool silently reads something the author
// did not mean, the error pgpool-ts gives instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, nodeValue, type LoadedConfig } from '../../../src/config/conf-loader.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-syntax-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

function load(text: string, extra: Record<string, string> = {}): LoadedConfig {
  const sub = path.join(dir, String(n++));
  fs.mkdirSync(sub, { recursive: true });
  for (const [name, body] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(sub, name)), { recursive: true });
    fs.writeFileSync(path.join(sub, name), body);
  }
  const file = path.join(sub, 'pgpool.conf');
  fs.writeFileSync(file, text);
  return loadConfig(file);
}
const errors = (r: LoadedConfig) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
const warnings = (r: LoadedConfig) =>
  r.diagnostics
    .filter((d) => d.severity === 'warning' && !d.message.startsWith('no backend configured'))
    .map((d) => d.message);
const value = (text: string, name: string) => {
  const r = load(text);
  expect(errors(r)).toEqual([]);
  return (r.config as unknown as Record<string, unknown>)[name];
};

describe('statements', () => {
  it.each([
    ["failover_command 'x'", 'x'],
    ["failover_command\t'v'", 'v'],
    ['failover_command = abc', 'abc'],
    ["failover_command = 'a\\'b'", "a\\'b"],
    ["failover_command = 'C:\\'", 'C:\\'],
    ["failover_command = 'a\\\\b'", 'a\\\\b'],
    ["failover_command = 'tab\\there\\n'", 'tab\\there\\n'],
    ["failover_command = 'hash#inside'", 'hash#inside'],
    ["failover_command = ''", ''],
    ["failover_command = 'x' # comment with 'quotes'", 'x'],
    ["failover_command = 'crlf'\r\n", 'crlf'],
    ["failover_command = 'first'\nfailover_command = 'second'", 'second'],
  ])('%j reads %j', (text, expected) => {
    expect(value(text, 'failover_command')).toBe(expected);
  });

  it('takes several statements on one line', () => {
    const r = load("failover_command = 'x' failback_command = 'y' max_pool 3");
    expect(errors(r)).toEqual([]);
    expect([r.config.failover_command, r.config.failback_command, r.config.max_pool]).toEqual(['x', 'y', 3]);
  });

  it("reads 'C:\\' # it's a trap as pgpool does, then the rest as keys", () => {
    const r = load("failover_command = 'C:\\' # it's a trap\n");
    expect(r.config.failover_command).toBe("C:\\' # it");
    expect(warnings(r)).toEqual([
      'unrecognized configuration parameter "s"',
      'unrecognized configuration parameter "trap"',
    ]);
  });

  it.each([
    ["failover_command = 'it''s'", "syntax error: parse error at line 1 ''s'' token = 4"],
    ["failover_command = 'abc' 42", "syntax error: parse error at line 1 '42' token = 2"],
    ["failover_command == 'abc'", "syntax error: parse error at line 1 ''abc'' token = 4"],
    ["failover_command = 'a';", "syntax error: parse error at line 1 ';' token = 8"],
    ['= 1', "syntax error: parse error at line 1 '=' token = 6"],
    ["k1 = k2 = 'x'", "syntax error: parse error at line 1 '=' token = 6"],
    ['failover_command = /bin/true', "syntax error: parse error at line 1 'bin/true' token = 5"],
    ['max_pool = 1e3', "syntax error: parse error at line 1 '3' token = 2"],
    ['max_pool = 12ab34', "syntax error: parse error at line 1 '34' token = 2"],
    ['foo.bar = 1', "syntax error: parse error at line 1 'foo.bar' token = 5"],
    ['1foo = 1', "syntax error: parse error at line 1 '1foo' token = 2"],
    ["failover_command =\n'v'", "syntax error: parse error at line 2 ''v'' token = 4"],
  ])('%j is a syntax error', (text, message) => {
    expect(errors(load(text))).toContain(message);
  });

  it('reports the line number of a syntax error after CRLF lines and comments', () => {
    const r = load("# c\r\nport = 9999\r\n\r\nmax_pool = 'a';\r\n");
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line: 4 });
  });

  it.each([
    [
      'failover_command = "dq"',
      'invalid value for parameter "failover_command": double quotes are not quotes in pgpool.conf',
    ],
    ["failover_command = 'abc", 'invalid value for parameter "failover_command": unterminated quoted string'],
    ['child_life_time = 30 min', 'invalid value for parameter "child_life_time": "30 min"'],
    ['child_life_time = 1.5min', 'invalid value for parameter "child_life_time": "1.5 min"'],
    ['failover_command', 'missing value for parameter "failover_command"'],
    ['failover_command =', 'missing value for parameter "failover_command"'],
    ['log_connections', 'missing value for parameter "log_connections"'],
  ])('refuses %j where pgpool reads something else', (text, message) => {
    expect(errors(load(text))).toContain(message);
  });

  it("reports `key = 'abc' extra` as a setting and an unknown key", () => {
    const r = load("failover_command = 'abc' extra\n");
    expect(r.config.failover_command).toBe('abc');
    expect(warnings(r)).toEqual(['unrecognized configuration parameter "extra"']);
  });

  it('takes a lone other character as a value', () => {
    expect(value('listen_addresses = *', 'listen_addresses')).toEqual(['*']);
  });
});

describe('keys', () => {
  it('is case-sensitive and suggests the right name', () => {
    const r = load('Port = 5555');
    expect(r.config.port).toBe(9999);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        line: 1,
        param: 'Port',
        message: 'unrecognized configuration parameter "Port"',
        hint: 'did you mean "port"?',
      }),
      expect.anything(),
    ]);
  });

  it('reads indexed keys with leading zeros and gaps', () => {
    const r = load(
      "backend_hostname01 = 'h1'\nbackend_port01 = 5433\nbackend_hostname12 = 'h12'\nbackend_port12 = 5434\n",
    );
    expect(nodeValue(r.config.backend_hostname, 1)).toBe('h1');
    expect(nodeValue(r.config.backend_port, 12)).toBe(5434);
    expect(nodeValue(r.config.backend_port, 3)).toBe(0);
  });

  it.each([
    ["backend_hostnameX = 'a'", 'invalid index value for parameter "backend_hostnameX"'],
    ['wd_portal = 1', 'invalid index value for parameter "wd_portal"'],
    ["backend_hostname999 = 'a'", '999 index outside the valid range for parameter "backend_hostname999" (0 .. 127)'],
    [
      "backend_data_directory128 = '/x'",
      '128 index outside the valid range for parameter "backend_data_directory128" (0 .. 127)',
    ],
    ['heartbeat_port256 = 9694', '256 index outside the valid range for parameter "heartbeat_port256" (0 .. 255)'],
    ["backend_hostname = 'a'", 'parameter "backend_hostname" expects the index value'],
    ['wd_port = 9000', 'parameter "wd_port" expects the index value'],
  ])('%j: %s', (text, message) => {
    expect(errors(load(text))).toEqual([message]);
  });

  it('accepts index 255 for heartbeat parameters', () => {
    expect(errors(load("heartbeat_hostname255 = 'h'"))).toEqual([]);
  });

  it.each([
    ['health_check_timeout0 = 9\nhealth_check_timeout = 7\n'],
    ['health_check_timeout = 7\nhealth_check_timeout0 = 9\n'],
  ])('bare health-check value is the default for nodes without their own (%j)', (text) => {
    const r = load(text);
    expect(nodeValue(r.config.health_check_timeout, 0)).toBe(9);
    expect(nodeValue(r.config.health_check_timeout, 1)).toBe(7);
  });

  it('reports a removed parameter with what replaced it', () => {
    expect(warnings(load('master_slave_mode = on'))).toEqual([
      'parameter "master_slave_mode" was removed in pgpool-II 4.2 and is ignored: replaced by backend_clustering_mode (on + sub_mode stream = streaming_replication, slony = slony, logical = logical_replication; with replication_mode=on = native_replication; both off = raw)',
    ]);
  });

  it("uses 4.3's socket_dir when unix_socket_directories is not set", () => {
    const r = load("socket_dir = '/var/run/postgresql'");
    expect(r.config.unix_socket_directories).toEqual(['/var/run/postgresql']);
    const both = load("socket_dir = '/a'\nunix_socket_directories = '/b'");
    expect(both.config.unix_socket_directories).toEqual(['/b']);
  });

  it('copies a deprecated alias to its parameter', () => {
    const r = load('fail_over_on_backend_error = off');
    expect(r.config.failover_on_backend_error).toBe(false);
    expect(warnings(r)[0]).toBe(
      'parameter "fail_over_on_backend_error" is a deprecated spelling of "failover_on_backend_error"; its value is used for "failover_on_backend_error"',
    );
  });
});

describe('values', () => {
  it.each([['ON'], ['t'], ["'yes'"], ['1'], ['Tr'], ['y'], ['tRuE'], ['on']])('bool %s is on', (v) => {
    expect(value(`log_connections = ${v}`, 'log_connections')).toBe(true);
  });
  it.each([['of'], ['0'], ['NO'], ['off'], ['f'], ["'false'"]])('bool %s is off', (v) => {
    expect(value(`connection_cache = ${v}`, 'connection_cache')).toBe(false);
  });
  it.each([['maybe'], ['o'], ['offf'], ['2'], ["''"]])('bool %s is refused (pgpool silently reads on)', (v) => {
    expect(errors(load(`log_connections = ${v}`))).toEqual([
      `invalid value for parameter "log_connections": "${v.replace(/'/g, '')}"`,
    ]);
  });

  it.each([
    ['max_pool = 0x3', 'max_pool', 3],
    ['max_pool = 010', 'max_pool', 8],
    ['max_pool = +5', 'max_pool', 5],
    ["max_pool = '1e3'", 'max_pool', 1000],
    ['max_pool = 1.5', 'max_pool', 2],
    ['max_pool = 2.5', 'max_pool', 2],
    ["max_pool = '  4  '", 'max_pool', 4],
    ['child_life_time = 30min', 'child_life_time', 1800],
    ["child_life_time = '10 s'", 'child_life_time', 10],
    ["child_life_time = '1.5min'", 'child_life_time', 90],
    ['child_life_time = 1499ms', 'child_life_time', 1],
    ['child_life_time = 1500ms', 'child_life_time', 2],
    ['log_rotation_age = 90s', 'log_rotation_age', 2],
    ['log_rotation_size = 100B', 'log_rotation_size', 0],
    ["memqcache_maxcache = '1.5kB'", 'memqcache_maxcache', 1536],
    ['memqcache_total_size = 1GB', 'memqcache_total_size', 1073741824],
    ['connect_timeout = 2s', 'connect_timeout', { fallback: 2000, nodes: new Map() }],
  ])('%s', (text, name, expected) => {
    expect(value(text, name)).toEqual(expected);
  });

  it.each([
    ['max_pool = 09', 'invalid value for parameter "max_pool": "09"', undefined],
    ["max_pool = ''", 'invalid value for parameter "max_pool": ""', undefined],
    ['max_pool = abc', 'invalid value for parameter "max_pool": "abc"', undefined],
    ['num_init_children = 2k', 'invalid value for parameter "num_init_children": "2k"', undefined],
    [
      'child_life_time = 30MIN',
      'invalid value for parameter "child_life_time": "30MIN"',
      'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".',
    ],
    [
      'child_life_time = 30mins',
      'invalid value for parameter "child_life_time": "30mins"',
      'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".',
    ],
    [
      'memqcache_maxcache = 64mb',
      'invalid value for parameter "memqcache_maxcache": "64mb"',
      'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".',
    ],
    [
      'memqcache_maxcache = 5s',
      'invalid value for parameter "memqcache_maxcache": "5s"',
      'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".',
    ],
    ['max_pool = 99999999999', 'invalid value for parameter "max_pool": "99999999999"', 'Value exceeds allowed range.'],
    ['port = 80', '80 is outside the valid range for parameter "port" (1024 .. 65535)', undefined],
    [
      'backend_weight0 = -1',
      '-1.000000 is outside the valid range for parameter "backend_weight0" (0.000000 .. 100000000.000000)',
      undefined,
    ],
    ['backend_weight1 = abc', 'invalid value for parameter "backend_weight1": "abc"', 'expected a number'],
    ["backend_weight1 = '2.7xyz'", 'invalid value for parameter "backend_weight1": "2.7xyz"', 'expected a number'],
    [
      'log_standby_delay = alw',
      'invalid value for parameter "log_standby_delay": "alw"',
      'Available values: always, if_over_threshold, none.',
    ],
    [
      'relcache_query_target = master',
      'invalid value for parameter "relcache_query_target": "master"',
      'Available values: primary, load_balance_node. "master" was renamed "primary" in pgpool-II 4.2.',
    ],
    ["log_destination = 'stderr,file'", 'invalid configuration for "log_destination"', 'unknown destination :file'],
    [
      "backend_flag0 = 'allow_to_failover'",
      'invalid configuration for key "backend_flag0": unknown backend flag: allow_to_failover',
      undefined,
    ],
    [
      "backend_flag0 = 'ALLOW_TO_FAILOVER|DISALLOW_TO_FAILOVER'",
      'invalid configuration for key "backend_flag0": cannot set ALLOW_TO_FAILOVER and DISALLOW_TO_FAILOVER at the same time',
      undefined,
    ],
  ])('%s is refused', (text, message, hint) => {
    const r = load(text);
    const d = r.diagnostics.find((x) => x.severity === 'error');
    expect(d).toMatchObject({ line: 1, message });
    expect(d?.hint).toBe(hint);
  });

  it('reads backend_weight and enums case-insensitively, with hidden spellings', () => {
    const r = load(
      "backend_weight0 = 0.5\nlog_min_messages = DEBUG\ncheck_temp_table = on\nprocess_management_mode = Dynamic\nbackend_flag0 = ' ALWAYS_PRIMARY | ALLOW_TO_FAILOVER'",
    );
    expect(errors(r)).toEqual([]);
    expect(nodeValue(r.config.backend_weight, 0)).toBe(0.5);
    expect([r.config.log_min_messages, r.config.check_temp_table, r.config.process_management_mode]).toEqual([
      'debug2',
      'catalog',
      'dynamic',
    ]);
  });

  it('splits lists on their separator and trims items', () => {
    const r = load(
      "reset_query_list = 'ABORT; DISCARD ALL ;  SET x=1'\nlisten_addresses = 'localhost, 127.0.0.2'\nunix_socket_directories = ''",
    );
    expect(r.config.reset_query_list).toEqual(['ABORT', 'DISCARD ALL', 'SET x=1']);
    expect(r.config.listen_addresses).toEqual(['localhost', '127.0.0.2']);
    expect(r.config.unix_socket_directories).toEqual([]);
  });

  it('has the built-in defaults for an empty file', () => {
    const r = load('');
    expect([r.config.num_init_children, r.config.max_pool, r.config.port, r.config.child_life_time]).toEqual([
      32, 4, 9999, 300,
    ]);
    expect(r.config.reset_query_list).toEqual(['ABORT', 'DISCARD ALL']);
    expect(r.config.worker_processes).toBe(0);
  });
});

describe('include', () => {
  it('includes relative to the including file, nested, in place', () => {
    const r = load("max_pool = 1\ninclude = 'sub/a.conf'\nport = 7000\n", {
      'sub/a.conf': "max_pool = 2\nport = 6000\ninclude 'b.conf'\n",
      'sub/b.conf': 'num_init_children = 5\n',
    });
    expect(errors(r)).toEqual([]);
    expect([r.config.max_pool, r.config.port, r.config.num_init_children]).toEqual([2, 7000, 5]);
    expect(r.sources.get('num_init_children')).toMatchObject({ file: expect.stringMatching(/sub\/b\.conf$/), line: 1 });
  });

  it('stops self-inclusion at depth 10', () => {
    const r = load("include = 'pgpool.conf'\n");
    expect(errors(r)).toContain('could not open configuration file "pgpool.conf": maximum nesting depth exceeded');
  });

  it('fails on a missing include file, naming the including line', () => {
    const r = load("\ninclude = 'does_not_exist.conf'\n");
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([
      expect.objectContaining({
        line: 0,
        message: expect.stringMatching(
          /could not open configuration file ".*does_not_exist.conf": No such file or directory/,
        ),
      }),
      expect.objectContaining({ line: 2, param: 'include' }),
    ]);
  });
});

describe('cross-parameter checks', () => {
  it.each([
    [
      'reserved_connections = 4\nnum_init_children = 4',
      'invalid configuration, reserved_connections:4 must be less than num_init_children:4',
    ],
    [
      'process_management_mode = dynamic\nmin_spare_children = 10\nmax_spare_children = 10',
      'invalid configuration, max_spare_children:10 must be greater than min_spare_children:10',
    ],
    [
      'process_management_mode = dynamic\nnum_init_children = 8',
      "invalid configuration, max_spare_children:10 can't be greater than num_init_children:8",
    ],
    [
      'replication_mode = on',
      'invalid configuration, failover_when_quorum_exists is not allowed in native replication mode',
    ],
    [
      "recovery_1st_stage_command = 'x'\nbackend_port0 = 5432",
      'invalid configuration, recovery_1st_stage_command and recovery_2nd_stage_command requires backend_data_directory to be set',
    ],
    ['use_watchdog = on\nheartbeat_port1 = 9694', 'invalid watchdog configuration'],
    [
      "app_name_redirect_preference_list = 'psql:primary,myapp:replica'",
      'invalid configuration for "app_name_redirect_preference_list": invalid target "replica" in "myapp:replica": expected a node id, primary or standby',
    ],
    [
      "database_redirect_preference_list = 'db1:1(2)'",
      'invalid configuration for "database_redirect_preference_list": invalid ratio in "db1:1(2)": must be between 0 and 1',
    ],
    [
      "dml_adaptive_object_relationship_list = 'tbl1:tbl2,tbl3'",
      'invalid configuration for "dml_adaptive_object_relationship_list": invalid entry "tbl3": expected object:dependent_object',
    ],
    [
      "backend_clustering_mode = 'snapshot_isolation'",
      "backend_clustering_mode = 'snapshot_isolation' is not supported by pgpool-ts",
    ],
    [
      "num_init_children = 3\nadmin_reserved_children = 3\nadmin_users = 'postgres'",
      'invalid configuration, admin_reserved_children:3 must be less than num_init_children:3',
    ],
    [
      "num_init_children = 4\nadmin_reserved_children = 2\nreserved_connections = 2\nadmin_users = 'postgres'",
      'invalid configuration, admin_reserved_children:2 + reserved_connections:2 must be less than num_init_children:4',
    ],
  ])('%j', (text, message) => {
    expect(errors(load(text))).toEqual([message]);
  });

  it('admin_reserved_children: at most num_init_children − 1, and a warning when admin_users is empty', () => {
    const r = load('num_init_children = 3\nadmin_reserved_children = 2');
    expect(errors(r)).toEqual([]);
    expect(
      r.diagnostics.filter((d) => d.param === 'admin_reserved_children').map((d) => [d.severity, d.line, d.message]),
    ).toEqual([['warning', 2, 'admin_reserved_children:2 with an empty admin_users: those children serve nobody']]);
    const ok = load("num_init_children = 3\nadmin_reserved_children = 2\nadmin_users = 'postgres, dba'");
    expect(ok.diagnostics.filter((d) => d.param === 'admin_reserved_children')).toEqual([]);
    expect(ok.config.admin_users).toEqual(['postgres', 'dba']);
  });

  it('lets static mode ignore the spare-children bounds', () => {
    expect(errors(load('min_spare_children = 10\nmax_spare_children = 10'))).toEqual([]);
  });
});
