// systemd integration: this test plays systemd's part with its own NOTIFY_SOCKET
// listener (a unix datagram socket, via python3) and checks what pgpool-ts tells it;
// systemd-analyze verifies the unit file where available.
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
afterAll(stopAllPoolers);

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode().replace("\\n", "|"), flush=True)
`;

describe.skipIf(!have('systemd-notify') || !have('python3'))('sd_notify (Type=notify)', () => {
  it('sends READY after the listeners are bound, STATUS, RELOADING/READY around a reload, and STOPPING', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-'));
    const sock = path.join(dir, 'notify.sock');
    const listener = spawn('python3', ['-c', LISTENER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let raw = '';
    let got = '';
    listener.stdout!.on('data', (b) => {
      raw += b;
      got = raw.replace(/MAINPID=\d+\|/g, ''); // systemd-notify --pid adds the main pid to each message
    });
    try {
      for (let i = 0; i < 50 && !raw.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
      const p = await startPooler({ num_init_children: 3 }, {}, { NOTIFY_SOCKET: sock });
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 100 && !re.test(got); i++) await new Promise((r) => setTimeout(r, 100));
        expect(got).toMatch(re);
      };
      await waitFor(/READY=1\|STATUS=children: 3 \(0 busy, 3 idle\), clients waiting: 0/);
      p.proc.kill('SIGHUP');
      await waitFor(/RELOADING=1\|MONOTONIC_USEC=\d+\n(.*\n)*READY=1/);
      const code = await p.stop('SIGTERM');
      expect(code).toBe(0);
      await waitFor(/STOPPING=1\|STATUS=smart shutdown in progress/);
      expect(raw).toContain(`MAINPID=${p.proc.pid}|READY=1`);
      // systemd-notify follows each message with BARRIER=1 (it waits until the manager has read it).
      const lines = got.split('\n').filter((l) => l && l !== 'listening' && l !== 'BARRIER=1');
      expect(lines.map((l) => l.split('|')[0])).toEqual(['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
    } finally {
      listener.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!have('systemd-analyze'))('conf/pgpool-ts.service', () => {
  it('passes systemd-analyze verify', async () => {
    const unit = fs.readFileSync(path.join(repoRoot, 'conf/pgpool-ts.service'), 'utf8');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unit-'));
    // verify needs the programs to exist: point the unit at this checkout's command.
    const local = unit.replaceAll('/usr/local/bin/pgpool-ts', path.join(repoRoot, 'bin/pgpool-ts.js'));
    fs.writeFileSync(path.join(dir, 'pgpool-ts.service'), local);
    const r = await run('systemd-analyze', ['verify', path.join(dir, 'pgpool-ts.service')]).then(
      (x) => x.stderr,
      (e: { stderr: string }) => `FAILED: ${e.stderr}`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.split('\n').filter((l) => l.includes('pgpool-ts.service'))).toEqual([]);
  });

  it('is the unit the issue describes', () => {
    const unit = fs.readFileSync(path.join(repoRoot, 'conf/pgpool-ts.service'), 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'ExecStartPre=/usr/local/bin/pgpool-ts --check-config -f /etc/pgpool-ts/pgpool.conf',
      'ExecStart=/usr/local/bin/pgpool-ts -n -f /etc/pgpool-ts/pgpool.conf',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'KillSignal=SIGINT',
      'KillMode=mixed',
      'LimitNOFILE=65536',
      'User=postgres',
      'RuntimeDirectory=pgpool-ts',
      'Restart=on-failure',
      'Environment=NODE_OPTIONS=--max-semi-space-size=1',
    ])
      expect(unit.split('\n')).toContain(line);
  });
});
