// Which node has which prepared statement in a routed session: a Parse records it on its
// node, a Bind elsewhere copies it, a Close while another node still has it leaves the
// name stale there (closed before it is parsed there again); the unnamed statement is
// simply replaced.
import { describe, expect, it } from 'vitest';
import { classifyStatement } from '../../../../src/policy/statement-class.js';
import { PreparedStatements } from '../../../../src/worker/routing/prepared-statements.js';

const read = { cls: classifyStatement({ SelectStmt: {} }), multi: false };
/** A Parse of `sql` as `name` going to `node` (its message stands for itself here). */
const parse = (p: PreparedStatements, name: string, sql: string, node: number, message = Buffer.from(sql)) =>
  p.parsed(name, message, read, sql, node);

describe('PreparedStatements', () => {
  it('follows a statement across nodes and closes stale versions before a new Parse', () => {
    const p = new PreparedStatements();
    expect(parse(p, 's1', 'SELECT 1', 0)).toBe(false);
    p.copiedTo('s1', 1);
    expect([...p.get('s1')!.nodes]).toEqual([0, 1]);
    p.closed('s1', 0);
    expect(p.get('s1')).toBeUndefined();
    // Node 1 still has s1: a Parse of s1 there must close it first, once.
    expect(parse(p, 's1', 'SELECT 2', 1)).toBe(true);
    expect(p.takeStale(1, 's1')).toBe(false);
    // A new Parse of s1 on node 0 makes the version on node 1 stale.
    expect(parse(p, 's1', 'SELECT 3', 0)).toBe(false);
    expect(p.takeStale(1, 's1')).toBe(true);
  });

  it('replaces the unnamed statement without closing it', () => {
    const p = new PreparedStatements();
    parse(p, '', 'SELECT 1', 0);
    expect(parse(p, '', 'SELECT 2', 1)).toBe(false);
    expect(p.takeStale(0, '')).toBe(false);
    expect([...p.get('')!.nodes]).toEqual([1]);
  });

  it('keeps the unnamed statement parsed again as it was on its node, with the newer message', () => {
    const p = new PreparedStatements();
    parse(p, '', 'SELECT 1', 1);
    const first = p.get('')!;
    const again = Buffer.from('SELECT 1 (again)');
    expect(parse(p, '', 'SELECT 1', 1, again)).toBe(false);
    expect(p.get('')).toBe(first);
    expect([p.get('')!.parse, [...p.get('')!.nodes]]).toEqual([again, [1]]);
    // Another text, or another node: a new entry on that node alone.
    parse(p, '', 'SELECT 2', 1);
    expect([p.get('')!.sql, p.get('') === first]).toEqual(['SELECT 2', false]);
    parse(p, '', 'SELECT 2', 0);
    expect([...p.get('')!.nodes]).toEqual([0]);
  });

  it('remembers portals by node and forgets a node’s statements', () => {
    const p = new PreparedStatements();
    p.bound('c1', 1, 'insert');
    expect([p.portalNode('c1'), p.portalKind('c1')]).toEqual([1, 'insert']);
    p.bound('c2', 0, undefined);
    expect([p.portalNode('c2'), p.portalKind('c2')]).toEqual([0, undefined]);
    parse(p, 'a', 'SELECT 1', 0);
    p.copiedTo('a', 1);
    parse(p, 'b', 'SELECT 2', 1);
    p.forgetNode(1);
    expect([...p.get('a')!.nodes]).toEqual([0]);
    expect(p.get('b')).toBeUndefined();
    expect([p.portalNode('c1'), p.portalKind('c1'), p.portalNode('c2')]).toEqual([undefined, undefined, 0]);
  });
});
