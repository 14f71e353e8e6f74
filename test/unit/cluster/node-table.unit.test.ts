// The node table and a node's state machine: every configured node starts waiting, the
// first session connection makes it up, each change sets the last status change and is
// sent on; a reload adds nodes as waiting and keeps what the others were.
import { describe, expect, it } from 'vitest';
import { mayTransition, nodeTransition } from '../../../src/cluster/node-state.js';
import { NodeTable } from '../../../src/cluster/node-table.js';
import { freshNode, primaryNodeId, type NodeSnapshot, type NodeStatus } from '../../../src/ipc/node-snapshot.js';
import { loadConfigText } from '../../helpers/config.js';

const NODES = "backend_hostname0 = 'a'\nbackend_port0 = 5432\nbackend_hostname1 = 'b'\nbackend_port1 = 5433\n";
const two = loadConfigText(`backend_clustering_mode = 'raw'\n${NODES}`);
const streaming = loadConfigText(NODES);

describe('node state', () => {
  it('allows exactly pgpool’s status changes', () => {
    const all: NodeStatus[] = ['unused', 'waiting', 'up', 'down'];
    const allowed = all.flatMap((f) => all.filter((t) => mayTransition(f, t)).map((t) => `${f}→${t}`));
    expect(allowed).toEqual(['unused→waiting', 'waiting→up', 'waiting→down', 'up→down', 'down→waiting']);
    const n = { ...freshNode(0, 'main', 1), status: 'up' as const };
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
    expect(table.snapshot()).toEqual([freshNode(0, 'main', 1000), freshNode(1, 'replica', 1000)]);
    t = 2000;
    table.used(0);
    table.used(0); // already up: no change, nothing sent
    expect(sent).toHaveLength(2); // the start and the one change
    expect(table.snapshot()[0]).toEqual({ ...freshNode(0, 'main', 2000), status: 'up' });
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

  it('streaming replication: standbys until the search finds the primary; a role change is a status change', () => {
    let t = 10;
    const sent: NodeSnapshot[] = [];
    const table = new NodeTable(
      streaming,
      (s) => sent.push(s),
      () => t,
    );
    expect(table.snapshot().map((n) => n.role)).toEqual(['standby', 'standby']);
    expect(primaryNodeId(table.snapshot())).toBe(0); // none known: the main node takes writes
    t = 20;
    table.setPrimary(
      1,
      new Map([
        [0, 'standby'],
        [1, 'primary'],
      ]),
    );
    expect(table.primaryId).toBe(1);
    expect(table.snapshot().map((n) => [n.role, n.actualRole, n.lastStatusChange])).toEqual([
      ['standby', 'standby', 10],
      ['primary', 'primary', 20],
    ]);
    expect(primaryNodeId(table.snapshot())).toBe(1);
    const count = sent.length;
    table.setPrimary(1, new Map([[1, 'primary']])); // nothing new: nothing sent
    expect(sent).toHaveLength(count);
    table.transition(1, 'down');
    expect(primaryNodeId(table.snapshot())).toBe(0); // the primary down: the main node
  });

  it('keeps what a replication check found, and sends only changes', () => {
    const sent: NodeSnapshot[] = [];
    const table = new NodeTable(streaming, (s) => sent.push(s));
    table.setPrimary(0, new Map());
    const found = {
      actualRole: 'standby' as const,
      replicationDelay: 4096,
      delayByTime: false,
      replicationState: 'streaming',
      replicationSyncState: 'async',
    };
    const count = sent.length;
    table.setReplication(new Map([[1, found]]));
    table.setReplication(new Map([[1, found]]));
    expect(sent).toHaveLength(count + 1);
    expect(table.snapshot()[1]).toMatchObject(found);
    expect(table.snapshot()[0].replicationDelay).toBe(0);
  });

  it('raw mode has no primary to set', () => {
    const table = new NodeTable(two, () => {});
    table.setPrimary(1, new Map());
    expect(table.primaryId).toBeUndefined();
    expect(table.snapshot().map((n) => n.role)).toEqual(['main', 'replica']);
  });
});

describe('ALWAYS_PRIMARY', () => {
  it('is the primary from the first snapshot on', () => {
    const sent: NodeSnapshot[] = [];
    const table = new NodeTable(loadConfigText(`${NODES}backend_flag1 = 'ALWAYS_PRIMARY'\n`), (s) => sent.push(s));
    expect(table.primaryId).toBe(1);
    expect(sent[0].map((n) => n.role)).toEqual(['standby', 'primary']);
  });
});

describe('NodeTable following Patroni', () => {
  it('takes the leader, the serving members and their lag; a stale view keeps what Patroni last called each', () => {
    const sent: NodeSnapshot[] = [];
    const table = new NodeTable(
      streaming,
      (n) => sent.push(n),
      () => 7,
    );
    table.discovered(
      1,
      new Map([
        [0, true],
        [1, true],
      ]),
      new Map([[0, 2048]]),
    );
    expect(table.primaryId).toBe(1);
    const roles = () => table.snapshot().map((n) => [n.role, n.actualRole, n.status, n.replicationDelay]);
    expect(roles()).toEqual([
      ['standby', 'standby', 'waiting', 2048],
      ['primary', 'primary', 'waiting', 0],
    ]);
    table.leaderUnknown();
    expect(table.primaryId).toBeUndefined();
    expect(roles()).toEqual([
      ['standby', 'standby', 'waiting', 2048],
      ['standby', 'primary', 'waiting', 0],
    ]);
    // The leader stops: down, and still the one Patroni last called leader.
    table.discovered(
      undefined,
      new Map([
        [0, true],
        [1, false],
      ]),
      new Map([[0, 0]]),
    );
    expect(roles()).toEqual([
      ['standby', 'standby', 'waiting', 0],
      ['standby', 'primary', 'down', 0],
    ]);
  });
});
