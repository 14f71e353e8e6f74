// Which node has which prepared statement in a routed session: a Parse records it on its
// node, a Bind elsewhere copies it, a Close while another node still has it leaves the
// name stale there (closed before it is parsed there again); the unnamed statement is
// simply replaced.
import { describe, expect, it } from 'vitest';
import { classifyStatement } from '../../../../src/policy/statement-class.js';
import { PreparedStatements } from '../../../../src/worker/routing/prepared-statements.js';

const entry = (sql: string) => ({
  parse: Buffer.from(sql),
  sql,
  cls: classifyStatement({ SelectStmt: {} }),
  multi: false,
});

describe('PreparedStatements', () => {
  it('follows a statement across nodes and closes stale versions before a new Parse', () => {
    const p = new PreparedStatements();
    expect(p.parsed('s1', entry('SELECT 1'), 0)).toBe(false);
    p.copiedTo('s1', 1);
    expect([...p.get('s1')!.nodes]).toEqual([0, 1]);
    p.closed('s1', 0);
    expect(p.get('s1')).toBeUndefined();
    // Node 1 still has s1: a Parse of s1 there must close it first, once.
    expect(p.parsed('s1', entry('SELECT 2'), 1)).toBe(true);
    expect(p.takeStale(1, 's1')).toBe(false);
    // A new Parse of s1 on node 0 makes the version on node 1 stale.
    expect(p.parsed('s1', entry('SELECT 3'), 0)).toBe(false);
    expect(p.takeStale(1, 's1')).toBe(true);
  });

  it('replaces the unnamed statement without closing it', () => {
    const p = new PreparedStatements();
    p.parsed('', entry('SELECT 1'), 0);
    expect(p.parsed('', entry('SELECT 2'), 1)).toBe(false);
    expect(p.takeStale(0, '')).toBe(false);
    expect([...p.get('')!.nodes]).toEqual([1]);
  });

  it('remembers portals by node and forgets a node’s statements', () => {
    const p = new PreparedStatements();
    p.bound('c1', 1, 'insert');
    expect([p.portalNode('c1'), p.portalKind('c1')]).toEqual([1, 'insert']);
    p.bound('c2', 0, undefined);
    expect([p.portalNode('c2'), p.portalKind('c2')]).toEqual([0, undefined]);
    p.parsed('a', entry('SELECT 1'), 0);
    p.copiedTo('a', 1);
    p.parsed('b', entry('SELECT 2'), 1);
    p.forgetNode(1);
    expect([...p.get('a')!.nodes]).toEqual([0]);
    expect(p.get('b')).toBeUndefined();
    expect([p.portalNode('c1'), p.portalKind('c1'), p.portalNode('c2')]).toEqual([undefined, undefined, 0]);
  });
});
