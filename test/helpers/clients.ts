// Small wrappers around real drivers for tests.
import pg from 'pg';

export async function withClient<T>(cfg: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(cfg);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** pg_backend_pid() of a new session with these settings. */
export function backendPid(cfg: pg.ClientConfig): Promise<number> {
  return withClient(cfg, async (c) => (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number);
}

/** The error a connection attempt fails with (node-postgres DatabaseError fields). */
export async function connectError(
  cfg: pg.ClientConfig,
): Promise<{ code?: string; message: string; severity?: string; detail?: string }> {
  const c = new pg.Client(cfg);
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    return e as { code?: string; message: string; severity?: string };
  }
  await c.end();
  throw new Error('connection unexpectedly succeeded');
}

/** A connected client whose later errors (the pooler closing it) are not thrown as events. */
export async function connected(cfg: pg.ClientConfig): Promise<pg.Client> {
  const c = new pg.Client(cfg);
  c.on('error', () => {});
  await c.connect();
  return c;
}
