// A backend connection's state machine over a real socket pair: the table of transitions,
// the watch and connection_life_time while cached (simulated time), Terminate on close.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mayTransition, ServerConnection, type ServerState } from '../../../src/backend/server-connection.js';
import { receive, socketPair } from '../../helpers/socket-pair.js';

const address = { node: 0, host: '/tmp', port: 5432, connectTimeoutMs: 0 };
const key = Buffer.from([0, 0, 0, 9, 0, 3, 0, 0, 0]);

async function connection() {
  const pair = await socketPair();
  const conn = new ServerConnection(pair.a, address, key, 'u', 'db');
  conn.transition('leased');
  return { conn, server: pair.b, close: pair.close };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ServerConnection', () => {
  it('allows exactly the transitions of its table', () => {
    const states: ServerState[] = ['starting', 'leased', 'resetting', 'cached', 'closed'];
    const allowed = states.flatMap((from) =>
      states.filter((to) => mayTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed).toEqual([
      'starting→leased',
      'starting→closed',
      'leased→resetting',
      'leased→closed',
      'resetting→cached',
      'resetting→closed',
      'cached→leased',
      'cached→closed',
    ]);
  });

  it('throws on a move outside the table and closes from anywhere, once', async () => {
    const { conn, server, close } = await connection();
    expect(() => conn.transition('cached', { lifeTimeMs: 0, onGone: () => {} })).toThrow(/leased → cached/);
    const terminate = receive(server, 5);
    conn.close();
    conn.close();
    expect((await terminate).toString('latin1')).toBe('X\0\0\0\x04');
    expect(conn.state).toBe('closed');
    close();
  });

  it('expires after connection_life_time while cached, and not once leased again', async () => {
    vi.useFakeTimers();
    const { conn, close } = await connection();
    let gone = 0;
    conn.transition('resetting');
    conn.transition('cached', { lifeTimeMs: 10_000, onGone: () => gone++ });
    vi.advanceTimersByTime(9_999);
    expect([conn.state, gone]).toEqual(['cached', 0]);
    conn.transition('leased');
    vi.advanceTimersByTime(60_000);
    expect([conn.state, gone]).toEqual(['leased', 0]);
    conn.transition('resetting');
    conn.transition('cached', { lifeTimeMs: 10_000, onGone: () => gone++ });
    vi.advanceTimersByTime(10_000);
    expect([conn.state, gone]).toEqual(['closed', 1]);
    close();
  });

  it('is closed when PostgreSQL sends anything or goes away while it is cached', async () => {
    const { conn, server, close } = await connection();
    const lost = new Promise<void>((resolve) => {
      conn.transition('resetting');
      conn.transition('cached', { lifeTimeMs: 0, onGone: resolve });
    });
    server.write('E'); // PostgreSQL's FATAL on shutdown starts like this
    await lost;
    expect(conn.state).toBe('closed');
    close();
  });
});
