// The real pcp_* tools (Debian's pgpool2, which CI installs) against a pooler started with
// pcpConf(): a login file, the PCP port from its pgpool.conf, the reply field layout the
// installed tools read.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ConfValues, Pooler } from './pooler.js';

const run = promisify(execFile);
const md5 = (t: string) => crypto.createHash('md5').update(t).digest('hex');

/** The tool's path. */
export const pcpTool = (name: string): string =>
  ['/usr/sbin', '/usr/bin'].map((d) => path.join(d, name)).find((f) => fs.existsSync(f)) ?? name;

/** The settings and files a pooler needs for the tools: pcp.conf with pcpadmin / pcppass, the tools' reply layout. */
export async function pcpSetup(): Promise<{ values: ConfValues; files: Record<string, string> }> {
  const v = await run(pcpTool('pcp_node_count'), ['--version']);
  // The 4.3 tools read node info without the by-time field the newer ones have.
  const toolVersion = Number(/\(pgpool-II\) (\d+\.\d+)/.exec(v.stdout + v.stderr)?.[1] ?? 0);
  return {
    values: { pcp_listen_addresses: '127.0.0.1', pcp_client_version: toolVersion < 4.4 ? '4.3' : 'newest' },
    files: { 'pcp.conf': `pcpadmin:${md5('pcppass')}\n` },
  };
}

/** Runs `tool` with `args` against the pooler as pcpadmin; its stdout and stderr (the tools exit 0 on errors too). */
export async function pcp(p: Pooler, tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const pcpPort = /^pcp_port = (\d+)/m.exec(fs.readFileSync(p.conf, 'utf8'))![1];
  const pass = path.join(p.dir, 'pcppass');
  if (!fs.existsSync(pass)) fs.writeFileSync(pass, '*:*:pcpadmin:pcppass\n', { mode: 0o600 });
  return run(pcpTool(tool), ['-h', '127.0.0.1', '-p', pcpPort, '-U', 'pcpadmin', '-w', ...args], {
    env: { ...process.env, PCPPASSFILE: pass },
  });
}
