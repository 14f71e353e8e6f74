// Cancel routing: the supervisor asks the workers (but the one that already looked) and
// counts the request as forwarded when one of them held the key; unknown keys are logged.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/logging/logger.js';
import { CancelRouter } from '../../../src/supervisor/cancel-router.js';
import type { WorkerPool } from '../../../src/supervisor/worker-pool.js';
import { CancelKeys } from '../../../src/worker/cancel-keys.js';

/** Two workers' key registries answering the router as the worker processes do. */
function setup() {
  const keys = [new CancelKeys(), new CancelKeys()];
  const asked: number[][] = [];
  const workers = {
    ask: async (request: (reqId: number) => { pid: number; key: string }, _ms: number, except?: number) => {
      const req = request(1);
      const who = [0, 1].filter((w) => w !== except);
      asked.push(who);
      return who.map((w) => ({ t: 'cancel', reqId: 1, forwarded: keys[w].find(req.pid, req.key) !== undefined }));
    },
  } as unknown as WorkerPool;
  const lines: string[] = [];
  const log = { info: (_o: unknown, m?: string) => lines.push(m ?? String(_o)) } as unknown as Logger;
  const counters = { cancelsForwarded: 0, cancelsUnknown: 0 };
  const router = new CancelRouter(
    workers,
    counters,
    () => log,
    () => true,
  );
  return { keys, asked, lines, counters, router };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('CancelRouter', () => {
  it('finds the key in whichever worker issued it', async () => {
    const { keys, asked, counters, router } = setup();
    const key = Buffer.from('00112233', 'hex');
    keys[1].register(4242, key, { host: '/tmp', port: 5432, pid: 99, secret: Buffer.alloc(4) });
    router.fromWaitingClient(4242, '00112233');
    await settle();
    router.fromWorker(1, 4242, '00112233'); // worker 1 would have found it itself: only worker 0 is asked
    await settle();
    expect(asked).toEqual([[0, 1], [0]]);
    expect(counters).toEqual({ cancelsForwarded: 1, cancelsUnknown: 1 });
  });

  it('logs an unknown key, and a voided key is unknown', async () => {
    const { keys, lines, counters, router } = setup();
    const handle = keys[0].register(7, Buffer.from('aa', 'hex'), {
      host: 'h',
      port: 1,
      pid: 1,
      secret: Buffer.alloc(4),
    });
    keys[0].void(handle);
    router.fromWaitingClient(7, 'aa');
    await settle();
    expect(lines).toEqual(['Cancel message from frontend.', 'invalid cancel key']);
    expect(counters.cancelsUnknown).toBe(1);
  });
});
