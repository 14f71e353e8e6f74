// The real pcp_* tools of Debian's pgpool2 package (installed by .ci/run) against the
// pgpool-ts PCP server: login, node/process counts and info, pool status, health-check
// statistics, reload and stop; a wrong password, garbage and oversized packets get
// pgpool's errors and the server stays up.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { firstError, rawConnect } from '../helpers/raw.js';

const run = promisify(execFile);
const tool = (name: string) =>
  ['/usr/sbin', '/usr/bin'].map((d) => path.join(d, name)).find((f) => fs.existsSync(f)) ?? name;
const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

let p: Pooler;
let pcpPort: number;
let toolVersion: string;

/** The pooler a pcp tool talks to: the shared one unless a test starts its own. */
interface PcpTarget {
  readonly port: number;
  readonly dir: string;
}

async function pcp(
  name: string,
  args: string[] = [],
  password = 'pcppass',
  on: PcpTarget = { port: pcpPort, dir: p.dir },
): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(tool(name), ['-h', '127.0.0.1', '-p', String(on.port), '-U', 'pcpadmin', '-w', ...args], {
      env: { ...process.env, PCPPASSFILE: pcpPass(password, on.dir) },
      timeout: 20_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

function pcpPass(password: string, dir: string): string {
  const f = path.join(dir, `pcppass-${md5(password)}`);
  fs.writeFileSync(f, `*:*:pcpadmin:${password}\n`, { mode: 0o600 });
  return f;
}

beforeAll(async () => {
  const v = await run(tool('pcp_node_count'), ['--version']);
  toolVersion = /\(pgpool-II\) (\d+\.\d+)/.exec(v.stdout + v.stderr)?.[1] ?? '';
  p = await startPcpPooler({ num_init_children: 2, max_pool: 2 });
  pcpPort = pcpPortOf(p);
  // The pooler reads pcp.conf beside pgpool.conf (-F not given).
});
afterAll(stopAllPoolers);

function startPcpPooler(values: Record<string, string | number>): Promise<Pooler> {
  return startPooler(
    {
      worker_processes: 1,
      pcp_client_version: Number(toolVersion) < 4.4 ? '4.3' : 'newest',
      pcp_listen_addresses: '127.0.0.1',
      ...values,
    },
    { 'pcp.conf': `# pcp users\npcpadmin:${md5('pcppass')}\n` },
  );
}

const pcpPortOf = (pooler: Pooler) => Number(/^pcp_port = (\d+)/m.exec(fs.readFileSync(pooler.conf, 'utf8'))![1]);

describe(`pcp_* tools against pgpool-ts`, () => {
  it('finds the tools (Debian pgpool2)', () => {
    expect(toolVersion).toMatch(/^\d+\.\d+$/);
  });

  it('pcp_node_count and pcp_node_info: waiting until a client connects, then up, as SHOW pool_nodes says', async () => {
    expect(await pcp('pcp_node_count')).toMatchObject({ code: 0, out: '1\n' });
    // As in pgpool: a node nobody has connected to yet is 1 "waiting".
    const before = await pcp('pcp_node_info', ['-n', '0', '-v']);
    expect(before.out).toMatch(/^Status\s+: 1$/m);
    expect(before.out).toMatch(/^Status Name\s+: waiting$/m);
    const c = new pg.Client(p.client('postgres', 'app'));
    c.on('error', () => {});
    await c.connect();
    const node = (await c.query('SHOW pool_nodes')).rows[0] as { status: string; last_status_change: string };
    await c.end();
    expect(node.status).toBe('up');
    const info = await pcp('pcp_node_info', ['-n', '0', '-v']);
    expect(info.code).toBe(0);
    expect(info.out).toMatch(new RegExp(`^Last Status Change\\s+: ${node.last_status_change}$`, 'm'));
    expect(info.out).toMatch(/^Hostname\s+: 127\.0\.0\.1$/m);
    expect(info.out).toMatch(/^Status\s+: 2$/m);
    expect(info.out).toMatch(/^Weight\s+: 1\.000000$/m);
    expect(info.out).toMatch(/^Role\s+: main$/m);
    const bad = await pcp('pcp_node_info', ['-n', '7']);
    expect(bad.err).toContain('informing node info failed');
  });

  it("pcp_proc_count and pcp_proc_info show the children and a client's backend connection", async () => {
    const c = new pg.Client(p.client('postgres', 'app'));
    c.on('error', () => {});
    await c.connect();
    const backendPid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const count = await pcp('pcp_proc_count');
    expect(count.code).toBe(0);
    const ids = count.out.trim().split(/\s+/);
    expect(ids).toHaveLength(2);
    const all = await pcp('pcp_proc_info', ['-a']);
    expect(all.code).toBe(0);
    // One line per child × max_pool slot; the client's slot names its database, user and backend pid.
    const lines = all.out.trim().split('\n');
    expect(lines).toHaveLength(4);
    const mine = lines.find((l) => l.includes(` ${backendPid} `));
    expect(mine).toBeDefined();
    expect(mine).toMatch(/^app postgres /);
    expect(mine).toMatch(/ (Idle|Execute command)$/);
    const one = await pcp('pcp_proc_info', ['-a', '-P', ids[0]]);
    expect(one.code).toBe(0);
    expect(one.out.trim().split('\n')).toHaveLength(2);
    await c.end();
    const bad = await pcp('pcp_proc_info', ['-P', '999999']);
    expect(bad.err).toContain('informing process info failed');
  });

  it('pcp_pool_status and pcp_health_check_stats', async () => {
    const st = await pcp('pcp_pool_status');
    expect(st.code).toBe(0);
    expect(st.out).toMatch(/^name : num_init_children\nvalue: 2\ndesc : # of children initially pre-forked$/m);
    expect(st.out).toMatch(/^name : backend_port0\nvalue: \d+\n/m);
    const hc = await pcp('pcp_health_check_stats', ['-n', '0', '-v']);
    expect(hc.code).toBe(0);
    expect(hc.out).toMatch(/^Node Id\s+: 0$/m);
    expect(hc.out).toMatch(/^Total Count\s+: 0$/m);
  });

  it('pcp_proc_info lists every num_init_children slot in dynamic mode, pcp_proc_count only the children', async () => {
    const dyn = await startPcpPooler({
      process_management_mode: 'dynamic',
      num_init_children: 4,
      min_spare_children: 1,
      max_spare_children: 2,
      max_pool: 2,
    });
    const on = { port: pcpPortOf(dyn), dir: dyn.dir };
    const ids = (await pcp('pcp_proc_count', [], 'pcppass', on)).out.trim().split(/\s+/);
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toBe('0');
    const info = await pcp('pcp_proc_info', ['-a'], 'pcppass', on);
    expect({ code: info.code, err: info.err }).toEqual({ code: 0, err: '' });
    const lines = info.out.trim().split('\n');
    expect(lines).toHaveLength(4 * 2); // slots × max_pool
    expect(lines.filter((l) => l.includes('1970-01-01 00:00:00'))).toHaveLength(3 * 2);
    await dyn.stop();
  });

  it("refuses a wrong password with pgpool's message", async () => {
    const r = await pcp('pcp_node_count', [], 'wrong');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('authentication failed for user "pcpadmin"');
    expect(r.err).toContain('username and/or password does not match');
  });

  it('answers garbage and oversized packets with a FATAL and stays up', async () => {
    const raw = await rawConnect(pcpPort);
    raw.send(Buffer.from([0x4d, 0x7f, 0xff, 0xff, 0xff]));
    const got = await raw.closed();
    expect(firstError(got)).toMatchObject({
      S: 'FATAL',
      M: 'invalid PCP packet',
      D: 'incorrect packet length (2147483647)',
    });
    const raw2 = await rawConnect(pcpPort);
    raw2.send(Buffer.from([0x4c, 0, 0, 0, 4]));
    expect(firstError(await raw2.closed())).toMatchObject({
      S: 'FATAL',
      M: 'authentication failed for new PCP connection',
      D: 'connection not authorized',
    });
    expect(await pcp('pcp_node_count')).toMatchObject({ code: 0, out: '1\n' });
  });

  it('pcp_reload_config reloads and pcp_stop_pgpool stops (fast)', async () => {
    fs.appendFileSync(p.conf, 'client_idle_limit = 7\n');
    expect((await pcp('pcp_reload_config')).code).toBe(0);
    await p.waitForLog(/client_idle_limit/);
    const st = await pcp('pcp_pool_status');
    expect(st.out).toMatch(/^name : client_idle_limit\nvalue: 7\n/m);
    expect((await pcp('pcp_stop_pgpool', ['-m', 'fast'])).code).toBe(0);
    const code = p.proc.exitCode ?? (await new Promise<number | null>((r) => p.proc.once('exit', (c) => r(c))));
    expect(code).toBe(0);
    await p.waitForLog(/pgpool-ts is shut down/);
  });
});
