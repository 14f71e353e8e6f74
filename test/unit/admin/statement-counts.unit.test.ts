// pool_backend_stats' counters: a worker's counts by node, kind and severity, and the
// supervisor's sum over workers as report cells.
import { describe, expect, it } from 'vitest';
import { countCells, StatementCounts, sumCounts } from '../../../src/admin/statement-counts.js';

describe('StatementCounts', () => {
  it('counts statements by kind and errors by severity, per node', () => {
    const c = new StatementCounts();
    for (const k of ['select', 'select', 'insert', 'update', 'delete', 'ddl', 'other'] as const) c.sent(0, k);
    c.sent(1, 'select');
    c.failed(0, 'ERROR');
    c.failed(0, 'FATAL');
    c.failed(1, 'PANIC');
    // Notices and unknown severities are no errors.
    c.failed(1, 'WARNING');
    c.failed(1, undefined);
    expect(c.snapshot()).toEqual({ 0: [2, 1, 1, 1, 1, 1, 0, 1, 1], 1: [1, 0, 0, 0, 0, 0, 1, 0, 0] });
  });

  it('sums workers and gives zeros for a node nobody counted', () => {
    const sum = sumCounts([
      { 0: [1, 2, 0, 0, 0, 0, 0, 0, 1] },
      { 0: [3, 0, 0, 0, 0, 1, 0, 0, 0], 2: [5, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    expect(countCells(sum, 0)).toEqual(['4', '2', '0', '0', '0', '1', '0', '0', '1']);
    expect(countCells(sum, 2)[0]).toBe('5');
    expect(countCells(sum, 1)).toEqual(Array(9).fill('0'));
  });
});
