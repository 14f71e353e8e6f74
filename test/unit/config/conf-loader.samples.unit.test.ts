// Every real pgpool.conf / pool_hba.conf / pcp.conf sample (pgpool-II 3.7 to 4.8devel)
// loads with exactly the expected errors, and the renamed/removed parameters of the old
// ones are reported with their specific messages.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/conf-loader.js';
import { loadPoolHba } from '../../../src/config/pool-hba.js';
import { loadPcpConf } from '../../../src/config/pcp-conf.js';
import { confSamplesDir } from '../../helpers/shared.js';

const PRE_42 = [
  'logdir',
  'white_function_list',
  'black_function_list',
  'master_slave_mode',
  'master_slave_sub_mode',
  'follow_master_command',
  'wd_hostname',
  'delegate_IP',
  'wd_heartbeat_port',
  'heartbeat_destination0',
  'heartbeat_destination_port0',
  'white_memqcache_table_list',
  'black_memqcache_table_list',
  'socket_dir',
];
const WD_PORT = 'parameter "wd_port" expects the index value';
const MASTER = 'invalid value for parameter "relcache_query_target": "master"';

// file → [errors as "line:message", parameters that must be reported with a warning]
const EXPECTED: Record<string, [string[], string[]]> = {
  'pgpool-4.3.5-debian.conf': [[], ['backend_port0']],
  'pgpool.conf.sample-3.7.26': [[`504:${WD_PORT}`], [...PRE_42, 'fail_over_on_backend_error']],
  'pgpool.conf.sample-4.1.23': [
    [`576:${WD_PORT}`, `790:${MASTER}`],
    [...PRE_42, 'black_query_pattern_list'],
  ],
  'pgpool.conf.sample-logical-4.1.23': [
    [`560:${WD_PORT}`, `767:${MASTER}`],
    [...PRE_42, 'black_query_pattern_list', 'enable_multiple_failover_requests_from_node'],
  ],
  'pgpool.conf.sample-master-slave-4.1.23': [
    [`571:${WD_PORT}`, `784:${MASTER}`],
    [...PRE_42, 'black_query_pattern_list'],
  ],
  'pgpool.conf.sample-replication-4.1.23': [
    [`570:${WD_PORT}`, `786:${MASTER}`],
    [...PRE_42, 'black_query_pattern_list'],
  ],
  'pgpool.conf.sample-stream-4.1.23': [
    [`573:${WD_PORT}`, `786:${MASTER}`],
    [...PRE_42, 'black_query_pattern_list'],
  ],
  'pgpool.conf.sample-logical-4.2.24': [
    [],
    ['logdir', 'delegate_IP', 'socket_dir', 'enable_multiple_failover_requests_from_node', 'heartbeat_port0'],
  ],
  'pgpool.conf.sample-raw-4.2.24': [[], ['logdir', 'delegate_IP', 'socket_dir', 'heartbeat_port0']],
  'pgpool.conf.sample-replication-4.2.24': [
    ["27:backend_clustering_mode = 'native_replication' is not supported by pgpool-ts"],
    ['logdir', 'delegate_IP', 'socket_dir', 'heartbeat_port0'],
  ],
  'pgpool.conf.sample-slony-4.2.24': [
    ['27:invalid value for parameter "backend_clustering_mode": "slony"'],
    ['logdir', 'delegate_IP', 'socket_dir', 'heartbeat_port0'],
  ],
  'pgpool.conf.sample-snapshot-4.2.24': [
    ["27:backend_clustering_mode = 'snapshot_isolation' is not supported by pgpool-ts"],
    ['logdir', 'delegate_IP', 'socket_dir', 'heartbeat_port0'],
  ],
  'pgpool.conf.sample-stream-4.2.24': [[], ['logdir', 'delegate_IP', 'socket_dir', 'heartbeat_port0']],
  'pgpool.conf.sample-stream-4.3.5': [[], ['backend_port0']],
  'pgpool.conf.sample-stream-4.4.17': [[], ['backend_port0']],
  'pgpool.conf.sample-stream-4.5.12': [[], ['backend_port0']],
  'pgpool.conf.sample-stream-4.6.7': [[], ['backend_port0']],
  'pgpool.conf.sample-stream-4.7.2': [[], ['backend_port0']],
  'pgpool.conf.sample-stream-4.8devel': [[], ['backend_port0']],
};

describe('real pgpool-II sample files', () => {
  const files = fs.readdirSync(confSamplesDir).filter((f) => f.startsWith('pgpool'));

  it('has an expectation for every pgpool.conf sample', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, [errors, warned]) => {
    const r = loadConfig(path.join(confSamplesDir, file));
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.message}`)).toEqual(errors);
    const warnedParams = new Set(r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.param));
    expect([...warnedParams].sort()).toEqual([...warned].sort());
  });

  it('gives removed parameters their specific messages', () => {
    const r = loadConfig(path.join(confSamplesDir, 'pgpool.conf.sample-stream-4.1.23'));
    const byParam = new Map(r.diagnostics.map((d) => [d.param, d.message]));
    expect(byParam.get('master_slave_mode')).toMatch(
      /^parameter "master_slave_mode" was removed in pgpool-II 4.2 and is ignored: replaced by backend_clustering_mode/,
    );
    expect(byParam.get('black_function_list')).toBe(
      'parameter "black_function_list" was removed in pgpool-II 4.2 and is ignored: renamed write_function_list',
    );
    expect(byParam.get('socket_dir')).toBe(
      `parameter "socket_dir" was replaced by "unix_socket_directories" in pgpool-II 4.4; pgpool-ts uses its value '/tmp' as unix_socket_directories`,
    );
    expect(r.config.unix_socket_directories).toEqual(['/tmp']);
  });

  it.each(Object.keys(EXPECTED))('%s uncommented still parses without a syntax error', (file) => {
    const text = fs.readFileSync(path.join(confSamplesDir, file), 'utf8').replace(/^#([a-z_]+[0-9]* *=)/gm, '$1');
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uncomment-')), 'pgpool.conf');
    fs.writeFileSync(tmp, text);
    const r = loadConfig(tmp);
    fs.rmSync(path.dirname(tmp), { recursive: true });
    expect(r.diagnostics.filter((d) => d.message.startsWith('syntax error'))).toEqual([]);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(
      EXPECTED[file][0].map((e) => e.replace(/^\d+:/, '')),
    );
  });

  it.each(['pool_hba-4.3.5-debian.conf', 'pool_hba.conf.sample-4.8devel'])('%s has the three trust records', (file) => {
    const r = loadPoolHba(path.join(confSamplesDir, file));
    expect(r.diagnostics).toEqual([]);
    expect(
      r.records.map((x) => [
        x.type,
        x.address?.kind === 'cidr' ? `${x.address.address}/${x.address.prefix}` : '',
        x.method,
      ]),
    ).toEqual([
      ['local', '', 'trust'],
      ['host', '127.0.0.1/32', 'trust'],
      ['host', '::1/128', 'trust'],
    ]);
  });

  it.each(['pcp-4.3.5-debian.conf', 'pcp.conf.sample-4.8devel'])('%s has no users and no errors', (file) => {
    expect(loadPcpConf(path.join(confSamplesDir, file))).toEqual({ users: [], diagnostics: [] });
  });
});
