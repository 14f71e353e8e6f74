// Cancel routing: the supervisor asks only the worker the key names, and counts the request
// as forwarded when that worker's session held it; unknown keys are logged.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/logging/logger.js';
import { CancelRouter } from '../../../src/supervisor/cancel-router.js';
import type { WorkerPool } from '../../../src/supervisor/worker-pool.js';
import { CancelKeys } from '../../../src/worker/cancel-keys.js';

const target = { host: '/tmp', port: 5432, pid: 99, secret: Buffer.alloc(4) };

/** Two workers' key registries answering the router as the worker processes do. */
function setup() {
  const keys = [new CancelKeys(), new CancelKeys()];
  keys.forEach((k, w) => k.owner(w, 2));
  const asked: number[] = [];
  const workers = {
    count: 2,
    askOne: async (w: number, request: (reqId: number) => { pid: number; key: string }) => {
      const req = request(1);
      asked.push(w);
      return { t: 'cancel', reqId: 1, forwarded: keys[w].find(req.pid, req.key) !== undefined };
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
  it('asks only the worker that issued the key, from the supervisor or from another worker', async () => {
    const { keys, asked, counters, router } = setup();
    const mine = keys[1].issue(4242, 4, [target]);
    const theirs = keys[0].issue(4343, 32, [target]);
    expect(keys[0].ownerOf(mine.key.toString('hex'))).toBe(1);
    expect(keys[1].ownerOf(theirs.key.toString('hex'))).toBe(0);
    router.fromWaitingClient(4242, mine.key.toString('hex'));
    router.fromWorker(4343, theirs.key.toString('hex'));
    router.fromWorker(4343, mine.key.toString('hex')); // right worker, wrong pid: unknown
    await settle();
    expect(asked).toEqual([1, 0, 1]);
    expect(counters).toEqual({ cancelsForwarded: 2, cancelsUnknown: 1 });
  });

  it('logs an unknown key, and a voided key is unknown', async () => {
    const { keys, lines, counters, router } = setup();
    const { key, handle } = keys[0].issue(7, 4, [target]);
    keys[0].void(handle);
    router.fromWaitingClient(7, key.toString('hex'));
    await settle();
    expect(lines).toEqual(['Cancel message from frontend.', 'invalid cancel key']);
    expect(counters.cancelsUnknown).toBe(1);
  });

  it('counts what a worker handled itself', () => {
    const { lines, counters, router } = setup();
    router.handled(1, true);
    router.handled(2, false);
    expect(counters).toEqual({ cancelsForwarded: 1, cancelsUnknown: 1 });
    expect(lines).toEqual(['invalid cancel key']);
  });
});
