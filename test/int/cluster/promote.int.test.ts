// pcp_promote_node against a real primary and a real streaming standby, with the real
// tool: without --switchover only pgpool-ts's view changes (the standby is called primary,
// the primary follows it down, writes are refused by the real standby, pcp_attach_node
// repairs it); with --switchover the primary is detached, failover_command promotes the
// target and follow_primary_command runs for the old primary, which detach_false_primary
// detaches again when it is attached while still a primary; pgpool's refusals.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcp, pcpSetup } from '../../helpers/pcp.js';
import { pollUntil } from '../../helpers/poll.js';
import { startPooler, type ConfValues, type Pooler } from '../../helpers/pooler.js';
import { scratch, type ReplicatedPair } from '../../helpers/replicated-pair.js';
import { portOf, primaryFound, routingConf, withClient } from '../../helpers/routing.js';

const made = scratch();
afterAll(() => made.cleanup());

async function pooler(pair: ReplicatedPair, values: ConfValues = {}): Promise<Pooler> {
  const { values: pcpValues, files } = await pcpSetup();
  const p = await startPooler(routingConf(pair, { ...pcpValues, ...values }), files);
  await primaryFound(p);
  return p;
}

const roles = (p: Pooler) =>
  withClient(p, async (c) => (await c.query('SHOW pool_nodes')).rows.map((r) => `${r.status} ${r.role}`));

describe('pcp_promote_node', () => {
  it('without --switchover changes only the view: the primary follows down until it is attached again', async () => {
    const pair = await made.pair();
    const p = await pooler(pair, { failover_command: 'echo failover >> /dev/null' });
    const refused = await pcp(p, 'pcp_promote_node', ['-n', '1']);
    expect(refused.stdout + refused.stderr).toMatch(/invalid promote request/);
    expect(refused.stdout + refused.stderr).toMatch(/specified node is already primary node, can't promote node id 1/);
    const unknown = await pcp(p, 'pcp_promote_node', ['-n', '5']);
    expect(unknown.stdout + unknown.stderr).toMatch(/could not process promote request/);

    expect((await pcp(p, 'pcp_promote_node', ['-n', '0'])).stdout).toMatch(/pcp_promote_node -- Command Successful/);
    await p.waitForLog(/=== Promotion done\. promoted host 127\.0\.0\.1\(\d+\) ===/);
    const log = p.logs();
    expect(log).toMatch(/pcp_promote_node: promote option: n/);
    expect(log).toMatch(/received promote backend request for node_id: 0 from pid \[\d+\]/);
    expect(log).toMatch(/starting follow degeneration\. shutdown host 127\.0\.0\.1\(\d+\)/);
    expect(log).not.toMatch(/execute command/);
    expect(await roles(p)).toEqual(['up primary', 'down standby']);
    // Node 0 is really a standby: the write it now gets is refused by PostgreSQL itself.
    await expect(withClient(p, (c) => c.query("INSERT INTO t (v) VALUES ('x')"))).rejects.toMatchObject({
      code: '25006',
    });

    expect((await pcp(p, 'pcp_attach_node', ['-n', '1'])).stdout).toMatch(/Command Successful/);
    await p.waitForLog(/=== Failback done/);
    await pollUntil(
      async () => (await roles(p))[1] === 'waiting primary' || (await roles(p))[1] === 'up primary',
      'node 1 the primary again',
    );
    await withClient(p, async (c) =>
      expect(await portOf(c, "INSERT INTO t (v) VALUES ('y') RETURNING inet_server_port() AS port")).toBe(
        pair.primary.port,
      ),
    );
    await p.stop();
  });

  it('--switchover detaches the primary, failover_command promotes the target, follow_primary_command runs', async () => {
    const pair = await made.pair();
    const dir = made.dir('pgpool-ts-promote-');
    const script = (name: string, body: string) => {
      const f = path.join(dir, `${name}.sh`);
      fs.writeFileSync(f, `#!/bin/sh\necho "$@" >> ${dir}/${name}.args\n${body}\n`, { mode: 0o755 });
      return `${f} %d %h %p %D %m %H %M %P %r %R %N %S`;
    };
    const p = await pooler(pair, {
      backend_data_directory0: pair.standby.dataDir,
      backend_data_directory1: pair.primary.dataDir,
      failover_command: script('failover', `psql -h "$6" -p "$9" -U postgres -d postgres -Atc 'SELECT pg_promote()'`),
      follow_primary_command: script('follow', ''),
      detach_false_primary: true,
    });
    expect((await pcp(p, 'pcp_promote_node', ['-n', '0', '-s'])).stdout).toMatch(/Command Successful/);
    await p.waitForLog(/=== Follow primary command for node 1 ended ===/);
    const { primary, standby } = pair;
    const tail = `${primary.host} ${primary.port}`;
    expect(fs.readFileSync(path.join(dir, 'failover.args'), 'utf8')).toBe(
      `1 ${primary.host} ${primary.port} ${primary.dataDir} 0 ${standby.host} 0 1 ${standby.port} ${standby.dataDir} ${tail}\n`,
    );
    expect(fs.readFileSync(path.join(dir, 'follow.args'), 'utf8')).toBe(
      `1 ${primary.host} ${primary.port} ${primary.dataDir} 0 ${standby.host} 1 1 ${standby.port} ${standby.dataDir} ${tail}\n`,
    );
    expect(p.logs()).toMatch(/pcp_promote_node: promote option: s/);
    expect(await roles(p)).toEqual(['up primary', 'down standby']);
    await withClient(p, async (c) =>
      expect(await portOf(c, "INSERT INTO t (v) VALUES ('z') RETURNING inet_server_port() AS port")).toBe(standby.port),
    );
    // The old primary still runs as one: attached again, detach_false_primary finds it false.
    expect((await pcp(p, 'pcp_attach_node', ['-n', '1'])).stdout).toMatch(/Command Successful/);
    await p.waitForLog(/pgpool_worker_child: invalid node found 1/, 15_000);
    await pollUntil(async () => (await roles(p))[1] === 'down standby', 'the false primary detached again');
    expect((await roles(p))[0]).toBe('up primary');
    await p.stop();
  });
});
