// The primitive workers accept by (ipc/accept-switch.ts): a listening handle that came over
// IPC stops accepting without being closed, its clients wait in the kernel's listen queue,
// and it accepts them once resumed. A Node upgrade that changed libuv's streams shows here.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pauseAccepting } from '../../src/ipc/accept-switch.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/processes/paused-listener.mjs');

type Said = { accepted?: true; listening?: true; paused?: boolean; resumed?: boolean };

const children: ChildProcess[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
  for (const s of servers.splice(0)) s.close();
});

function nextMessage(child: ChildProcess, pick: (m: Said) => boolean): Promise<Said> {
  return new Promise((resolve) => {
    const on = (m: Said) => {
      if (!pick(m)) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

async function listenerIn(where: net.ListenOptions): Promise<{ child: ChildProcess; server: net.Server }> {
  const server = net.createServer(() => {
    throw new Error('the parent never accepts');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(where.path ? { path: `${where.path}.tmp` } : where, r));
  // As the supervisor does (supervisor/listeners.ts): libuv unlinks the name a server was bound to when it closes.
  if (where.path) fs.renameSync(`${where.path}.tmp`, where.path);
  const child = fork(FIXTURE, { stdio: 'ignore', serialization: 'json' });
  children.push(child);
  const listening = nextMessage(child, (m) => m.listening === true);
  child.send('listen', (server as unknown as { _handle: net.Socket })._handle);
  await listening;
  // A handle bound in this process cannot be paused (libuv did not open it readable).
  expect(pauseAccepting(server)).toBe(false);
  return { child, server };
}

describe.each([
  ['TCP', () => ({ host: '127.0.0.1', port: 0 })],
  ['a unix socket', () => ({ path: path.join(os.tmpdir(), `accept-switch-${process.pid}-${Date.now()}.sock`) })],
] as [string, () => net.ListenOptions][])('a listener received over IPC, on %s', (_name, where) => {
  it('pauses: a client waits in the listen queue; resumed, it is accepted', async () => {
    const options = where();
    const { child, server } = await listenerIn(options);
    const address = server.address();
    // The parent's own copy goes; the child's keeps the socket listening.
    server.close();
    const connectTo = options.path
      ? { path: options.path }
      : { host: '127.0.0.1', port: (address as net.AddressInfo).port };
    let accepted = 0;
    child.on('message', (m: Said) => {
      if (m.accepted) accepted++;
    });
    const paused = nextMessage(child, (m) => m.paused !== undefined);
    child.send('pause');
    expect((await paused).paused).toBe(true);
    // The kernel completes the handshake (the listen queue), the child does not accept.
    const client = net.connect(connectTo);
    await new Promise<void>((r) => client.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    expect(accepted).toBe(0);
    const resumed = nextMessage(child, (m) => m.resumed !== undefined);
    const served = nextMessage(child, (m) => m.accepted === true);
    child.send('resume');
    expect((await resumed).resumed).toBe(true);
    await served;
    expect(accepted).toBe(1);
    client.destroy();
    if (options.path) fs.rmSync(options.path, { force: true });
  });
});
