// The replies a transaction-mode client is owed: which backend message ends each entry, and
// what an error up to Sync undoes.
import { describe, expect, it } from 'vitest';
import { Expected, type Entry } from '../../../../src/worker/transaction/tx-expected.js';

const c = (s: string) => s.charCodeAt(0);

describe('which reply ends an entry', () => {
  const q = new Expected();
  it.each<[Entry['kind'], string, boolean]>([
    ['query', 'C', false],
    ['query', 'Z', true],
    ['sync', 'Z', true],
    ['parse', '1', true],
    ['hiddenParse', '1', true],
    ['bind', '2', true],
    ['describeStatement', 't', false],
    ['describeStatement', 'T', true],
    ['describeStatement', 'n', true],
    ['describePortal', 'T', true],
    ['execute', 'D', false],
    ['execute', 'C', true],
    ['execute', 's', true],
    ['execute', 'I', true],
    ['close', '3', true],
    ['hiddenClose', '3', true],
  ])('%s ends at %s: %s', (kind, type, want) =>
    expect(q.answers({ kind, server: 'x', bytes: Buffer.alloc(0) } as Entry, c(type))).toBe(want),
  );
});

describe('an error before Sync', () => {
  it('drops the entries up to Sync and undoes what they prepared and defined', () => {
    const q = new Expected();
    const prepared = new Map<string, true>([
      ['s1', true],
      ['s2', true],
    ]);
    const statements = new Map<string, unknown>([['mine', {}]]);
    q.push({ kind: 'bind' });
    q.push({ kind: 'parse', server: 's1', defines: 'mine' });
    q.push({ kind: 'hiddenClose', server: 'old' });
    q.push({ kind: 'hiddenParse', server: 's2' });
    q.push({ kind: 'made', bytes: Buffer.from('1') });
    q.push({ kind: 'sync' });
    q.push({ kind: 'query' });
    q.failed(prepared, statements);
    expect(q.head).toEqual({ kind: 'sync' });
    expect(q.length).toBe(2);
    expect([...prepared.keys()]).toEqual(['old']);
    expect(statements.size).toBe(0);
  });

  it('compacts after many replies and stays in order', () => {
    const q = new Expected();
    for (let i = 0; i < 200; i++) q.push({ kind: i % 2 ? 'bind' : 'execute' });
    for (let i = 0; i < 150; i++) q.shift();
    expect(q.length).toBe(50);
    expect(q.head).toEqual({ kind: 'execute' });
  });
});
