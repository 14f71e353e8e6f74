// The worker's children, the one authority over them: every transition is one childState
// message; an idle child takes a socket, a session moves to the idle child whose cache fits
// it; a socket no child can take goes back to the supervisor unread.
import { describe, expect, it } from 'vitest';
import { ServerConnection } from '../../../src/backend/server-connection.js';
import type { FromWorker } from '../../../src/ipc/messages.js';
import type { Logger } from '../../../src/logging/logger.js';
import { sortedStartupPacket } from '../../../src/protocol/frontend-read.js';
import { acceptClient } from '../../../src/worker/accept.js';
import { Children } from '../../../src/worker/children.js';
import type { Session } from '../../../src/worker/session/session.js';
import type { SessionEnv } from '../../../src/worker/session/session-env.js';
import { loadConfigText } from '../../helpers/config.js';
import { socketPair } from '../../helpers/socket-pair.js';

const cfg = loadConfigText('num_init_children = 2\nchild_max_connections = 2\nmax_pool = 2\n');
const log = { info: () => {}, debug: () => {}, warn: () => {} } as unknown as Logger;

function children() {
  const sent: FromWorker[] = [];
  let empty = 0;
  const c = new Children({
    config: () => cfg,
    log: () => log,
    send: (m) => sent.push(m),
    observers: {},
    empty: () => empty++,
  });
  return { c, sent, empty: () => empty };
}

const session = {} as Session;
const key = sortedStartupPacket(0x30000, [
  ['user', 'alice'],
  ['database', 'app'],
]);

describe('Children', () => {
  it('reports spawn, take, finish and the exit at child_max_connections, one message each', () => {
    const { c, sent } = children();
    c.spawn(1);
    const child = c.take(9, () => session)!;
    c.finished(child, true);
    c.take(10, () => session);
    c.finished(child, true);
    expect(sent.map((m) => (m.t === 'childState' ? [m.childId, m.state] : m.t))).toEqual([
      [1, { kind: 'idle', pooled: 0 }],
      [1, { kind: 'busy', connId: 9 }],
      [1, { kind: 'idle', pooled: 0 }],
      [1, { kind: 'busy', connId: 10 }],
      [1, { kind: 'exited', reason: 'max_connections' }],
    ]);
    expect(c.size).toBe(0);
  });

  it('moves a session to the idle child whose cache holds its connection', async () => {
    const { c, sent } = children();
    c.spawn(1);
    c.spawn(2);
    const pair = await socketPair();
    const conn = new ServerConnection(
      pair.a,
      { node: 0, host: '/tmp', port: 1, connectTimeoutMs: 0 },
      key,
      'alice',
      'app',
    );
    conn.transition('leased');
    conn.transition('resetting');
    const two = [...c.values()][1];
    two.pool.cache.put(conn);
    const first = c.take(5, () => session)!;
    expect(first.id).toBe(1);
    sent.length = 0;
    const placed = c.settle(first, session, 'alice', 'app', key);
    expect(placed.id).toBe(2);
    // The new child first, so the supervisor sees the client held throughout.
    expect(sent.map((m) => (m.t === 'childState' ? [m.childId, m.state.kind] : m.t))).toEqual([
      [2, 'busy'],
      [1, 'idle'],
    ]);
    expect(c.settle(placed, session, 'bob', 'app', key)).toBe(placed); // no better child: stays
    pair.close();
  });

  it('retires only an idle child, and says when the last one is gone while stopping', () => {
    const { c, empty } = children();
    c.spawn(1);
    c.spawn(2);
    const busy = c.take(3, () => ({ stop: () => {} }) as unknown as Session)!;
    c.retire(busy.id);
    expect(c.size).toBe(2);
    c.shutdown('smart');
    expect([c.size, empty()]).toEqual([1, 0]);
    c.finished(busy, true);
    expect([c.size, empty()]).toEqual([0, 1]);
  });
});

describe('acceptClient', () => {
  it('hands a socket back to the supervisor, unread, when no child is idle', async () => {
    const { c } = children();
    const pair = await socketPair();
    const back: Array<[FromWorker, boolean]> = [];
    acceptClient(7, pair.b, Buffer.from('early'), {
      children: c,
      env: { config: cfg, log } as unknown as SessionEnv,
      send: (m, socket) => back.push([m, socket === pair.b]),
      cancel: () => {},
      ended: () => {},
    });
    expect(back).toEqual([[{ t: 'clientBack', connId: 7, initial: Buffer.from('early').toString('base64') }, true]]);
    pair.close();
  });
});

describe('a socket handed back', () => {
  it('carries the bytes the worker had already read', async () => {
    const { c } = children();
    const pair = await socketPair();
    pair.a.write('startup bytes');
    await new Promise((r) => setTimeout(r, 50)); // the received socket reads at once, as one from IPC does
    const back: FromWorker[] = [];
    acceptClient(8, pair.b, Buffer.from('ab'), {
      children: c,
      env: { config: cfg, log } as unknown as SessionEnv,
      send: (m) => back.push(m),
      cancel: () => {},
      ended: () => {},
    });
    const m = back[0] as Extract<FromWorker, { t: 'clientBack' }>;
    expect(Buffer.from(m.initial, 'base64').toString()).toBe('abstartup bytes');
    pair.close();
  });
});
