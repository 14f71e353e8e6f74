// The node table and a node's state machine: every configured node starts waiting, the
// first session connection makes it up, each change sets the last status change and is
// sent on; a reload adds nodes as waiting and keeps what the others were.
import { describe, expect, it } from 'vitest';
import { mayTransition, nodeTransition } from '../../../src/cluster/node-state.js';
import { NodeTable } from '../../../src/cluster/node-table.js';
import type { NodeSnapshot, NodeStatus } from '../../../src/ipc/node-snapshot.js';
import { loadConfigText } from '../../helpers/config.js';

const two = loadConfigText(
  "backend_hostname0 = 'a'\nbackend_port0 = 5432\nbackend_hostname1 = 'b'\nbackend_port1 = 5433\n",
);

describe('node state', () => {
  it('allows exactly pgpool’s status changes', () => {
    const all: NodeStatus[] = ['unused', 'waiting', 'up', 'down'];
    const allowed = all.flatMap((f) => all.filter((t) => mayTransition(f, t)).map((t) => `${f}→${t}`));
    expect(allowed).toEqual(['unused→waiting', 'waiting→up', 'waiting→down', 'up→down', 'down→waiting']);
    const n = { id: 0, status: 'up' as const, role: 'main' as const, lastStatusChange: 1 };
    expect(nodeTransition(n, 'waiting', 5)).toBeUndefined();
    expect(nodeTransition(n, 'down', 5)).toEqual({ ...n, status: 'down', lastStatusChange: 5 });
  });
});

describe('NodeTable', () => {
  it('starts every configured node waiting, and a first connection makes it up', () => {
    let t = 1000;
    const sent: NodeSnapshot[] = [];
    const table = new NodeTable(
      two,
      (s) => sent.push(s),
      () => t,
    );
    expect(table.snapshot()).toEqual([
      { id: 0, status: 'waiting', role: 'main', lastStatusChange: 1000 },
      { id: 1, status: 'waiting', role: 'replica', lastStatusChange: 1000 },
    ]);
    t = 2000;
    table.used(0);
    table.used(0); // already up: no change, nothing sent
    expect(sent).toHaveLength(2); // the start and the one change
    expect(table.snapshot()[0]).toEqual({ id: 0, status: 'up', role: 'main', lastStatusChange: 2000 });
    expect(table.transition(0, 'waiting')).toBe(false);
    expect(table.transition(9, 'down')).toBe(false);
  });

  it('adds a node a reload names, waiting, and keeps the others as they were', () => {
    let t = 1;
    const table = new NodeTable(
      loadConfigText("backend_hostname0 = 'a'\nbackend_port0 = 5432\n"),
      () => {},
      () => t,
    );
    table.used(0);
    t = 50;
    table.configure(two);
    expect(table.snapshot().map((n) => [n.id, n.status, n.lastStatusChange])).toEqual([
      [0, 'up', 1],
      [1, 'waiting', 50],
    ]);
  });
});
