// The supervisor's child directory: a read model changed only by childState reports, plus
// the sockets on their way to a worker. Free capacity is derived from both.
import { describe, expect, it } from 'vitest';
import { ChildDirectory } from '../../../src/supervisor/child-directory.js';

function directory() {
  const done: number[] = [];
  const exited: string[] = [];
  const d = new ChildDirectory(2, { connDone: (c) => done.push(c), exited: (e, why) => exited.push(`${e.id} ${why}`) });
  return { d, done, exited };
}

describe('ChildDirectory', () => {
  it('counts idle children per worker, minus the sockets handed over and not yet taken', () => {
    const { d } = directory();
    d.report(0, 1, { kind: 'idle', pooled: 0 });
    d.report(0, 2, { kind: 'idle', pooled: 0 });
    d.report(1, 3, { kind: 'idle', pooled: 0 });
    expect([d.freeByWorker(), d.totalFree, d.size, d.busy]).toEqual([[2, 1], 3, 3, 0]);
    d.handOver(0, 100);
    expect(d.freeByWorker()).toEqual([1, 1]);
    d.report(0, 1, { kind: 'busy', connId: 100 }); // taken: the hand-over is settled by the report
    expect([d.freeByWorker(), d.busy]).toEqual([[1, 1], 1]);
    expect(d.countByWorker()).toEqual([2, 1]);
  });

  it("ends a client's stay when its child is idle again or exits", () => {
    const { d, done, exited } = directory();
    d.report(1, 7, { kind: 'idle', pooled: 0 });
    d.report(1, 7, { kind: 'busy', connId: 41 });
    d.report(1, 7, { kind: 'idle', pooled: 2 });
    d.report(1, 7, { kind: 'busy', connId: 42 });
    d.report(1, 7, { kind: 'exited', reason: 'max_connections' });
    expect([done, exited, d.size]).toEqual([[41, 42], ['7 max_connections'], 0]);
  });

  it('keeps a client held when its session moves to a child whose cache fits (new child busy, then old idle)', () => {
    const { d, done } = directory();
    d.report(0, 1, { kind: 'idle', pooled: 0 });
    d.report(0, 2, { kind: 'idle', pooled: 1 });
    d.report(0, 1, { kind: 'busy', connId: 50 });
    d.report(0, 2, { kind: 'busy', connId: 50 });
    d.report(0, 1, { kind: 'idle', pooled: 0 });
    expect([done, d.busy]).toEqual([[], 1]);
    d.report(0, 2, { kind: 'idle', pooled: 1 });
    expect(done).toEqual([50]);
  });

  it('keeps the pooled count of the last report (a cache that shrinks reports again)', () => {
    const { d } = directory();
    d.report(0, 1, { kind: 'idle', pooled: 3 });
    d.report(0, 1, { kind: 'idle', pooled: 1 });
    expect(d.get(1)?.pooled).toBe(1);
    d.report(0, 1, { kind: 'busy', connId: 5 });
    expect(d.get(1)?.pooled).toBe(1);
  });

  it('offers for retirement only idle children a hand-over does not need, in slot order', () => {
    const { d } = directory();
    for (const id of [3, 1, 2]) d.report(0, id, { kind: 'idle', pooled: 0 });
    d.report(1, 4, { kind: 'idle', pooled: 0 });
    d.handOver(0, 9);
    expect(d.retirable().map((c) => c.id)).toEqual([1, 2, 4]);
  });

  it("drops a dead worker's children and returns the sockets that were on their way", () => {
    const { d } = directory();
    d.report(0, 1, { kind: 'busy', connId: 5 });
    d.report(1, 2, { kind: 'idle', pooled: 0 });
    d.handOver(0, 6);
    const dropped = d.dropWorker(0);
    expect([dropped.children.map((c) => c.id), dropped.inFlight, d.size]).toEqual([[1], [6], 1]);
  });
});
