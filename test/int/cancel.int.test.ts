// Cancel requests carry pooler-issued keys; the supervisor forwards them to the right
// backend at once, also when every child is busy. Unknown keys are dropped silently.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CANCEL_REQUEST_CODE } from '../../src/protocol/codes.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { rawConnect, requestPacket } from '../helpers/raw.js';

afterAll(stopAllPoolers);

function cancelPacket(processID: number, secretKey: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeInt32BE(processID, 0);
  key.writeInt32BE(secretKey, 4);
  return requestPacket(CANCEL_REQUEST_CODE, key);
}

async function sleepAndCancel(port: number): Promise<{ code: string; ms: number; pid: number; worker: number }> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'app' });
  await c.connect();
  try {
    const t0 = Date.now();
    const q = c.query('select pg_sleep(10)').then(
      () => ({ code: 'none' }),
      (e: { code: string }) => ({ code: e.code }),
    );
    await new Promise((r) => setTimeout(r, 300));
    // A CancelRequest on a new connection with the pid and key the client got in BackendKeyData.
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    const raw = await rawConnect(port);
    raw.send(cancelPacket(processID, secretKey));
    const r = await q;
    expect((await raw.closed()).length).toBe(0); // nothing is ever written back
    // The key's first two bytes name the worker that issued it, modulo worker_processes (2 in these tests).
    return { code: r.code, ms: Date.now() - t0, pid: processID, worker: ((secretKey >>> 16) & 0xffff) % 2 };
  } finally {
    await c.end();
  }
}

describe('cancel', () => {
  it('cancels pg_sleep(10) with SQLSTATE 57014 within 2 s; log_client_messages logs the request', async () => {
    const p = await startPooler({ num_init_children: 4, log_client_messages: true, log_format: 'json' });
    const r = await sleepAndCancel(p.port);
    expect(r.code).toBe('57014');
    expect(r.ms).toBeLessThan(2000);
    const line = JSON.parse(await p.waitForLog(/Cancel message from frontend/)) as { detail: string };
    expect(line.detail).toBe(`process id: ${r.pid}`);
    await p.stop();
  });

  it('cancels also when every child is busy', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const r = await sleepAndCancel(p.port);
    expect(r.code).toBe('57014');
    expect(r.ms).toBeLessThan(2000);
    await p.waitForLog(/forwarding cancel request to backend/);
    await p.stop();
  });

  it('a cancel that reaches the other worker goes at once to the one whose key it is', async () => {
    // One child per worker: while the client's child is busy, only the other worker accepts,
    // so the CancelRequest lands there and travels to the key's worker through the supervisor.
    const p = await startPooler({ num_init_children: 2, worker_processes: 2, log_format: 'json' });
    const r = await sleepAndCancel(p.port);
    expect(r.code).toBe('57014');
    expect(r.ms).toBeLessThan(2000);
    const line = JSON.parse(await p.waitForLog(/forwarding cancel request to backend/)) as { name: string };
    const owner = Number(/worker (\d)/.exec(line.name)?.[1]);
    expect(owner).toBe(r.worker);
    await p.stop();
  });

  it('drops an unknown key silently and keeps serving', async () => {
    const p = await startPooler({ num_init_children: 2 });
    const key = Buffer.alloc(8);
    key.writeInt32BE(12345, 0);
    key.writeInt32BE(67890, 4);
    const raw = await rawConnect(p.port);
    raw.send(requestPacket(CANCEL_REQUEST_CODE, key));
    expect((await raw.closed()).length).toBe(0);
    await p.waitForLog(/invalid cancel key/);
    const c = new pg.Client(p.client());
    await c.connect();
    expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
    await c.end();
    await p.stop();
  });

  it("voids a client's key when its session ends: it cannot cancel the next client on the same backend", async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const first = new pg.Client(p.client());
    await first.connect();
    const old = first as unknown as { processID: number; secretKey: number };
    await first.end();
    const second = new pg.Client(p.client());
    await second.connect();
    const now = second as unknown as { processID: number; secretKey: number };
    expect(now.processID).toBe(old.processID); // the same cached backend connection
    expect(now.secretKey).not.toBe(old.secretKey); // under a new key
    const q = second.query('select pg_sleep(1.5) as done');
    await new Promise((r) => setTimeout(r, 300));
    const raw = await rawConnect(p.port);
    raw.send(cancelPacket(old.processID, old.secretKey));
    await raw.closed();
    expect((await q).rows[0].done).toBe('');
    await p.waitForLog(/invalid cancel key/);
    await second.end();
    await p.stop();
  });
});
