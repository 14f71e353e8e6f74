// SHOW pool_processes / pool_pools rows (docs/behaviour.md#processes): every
// num_init_children slot is listed, those without a child with pool_pid 0.
import { describe, expect, it } from 'vitest';
import { localTimestamp } from '../../../src/local-time.js';
import {
  poolPoolsRows,
  poolProcessesRows,
  withEmptySlots,
  type ChildReport,
} from '../../../src/admin/process-report.js';

const child = (childId: number, extra: Partial<ChildReport> = {}): ChildReport => ({
  childId,
  startedAt: Date.UTC(2026, 11, 1, 12),
  sessions: 2,
  status: 'Idle',
  slots: [],
  ...extra,
});

describe('slots without a child', () => {
  it('follow the children up to num_init_children, with pool_pid 0 and the epoch as start time', () => {
    const rows = poolProcessesRows(withEmptySlots([child(7)], 3));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual(['7', localTimestamp(Date.UTC(2026, 11, 1, 12)), '2', '', '', '', '', 'Idle']);
    expect(rows[1]).toEqual(['0', localTimestamp(0), '0', '', '', '', '', 'Wait for connection']);
    expect(rows[2]).toEqual(rows[1]);
  });

  it('give pool_pools max_pool empty rows each', () => {
    const rows = poolPoolsRows(withEmptySlots([child(7)], 3), 2);
    expect(rows).toHaveLength(3 * 2);
    expect(rows.slice(2).map((r) => [r[0], r[1], r[3], r[16]])).toEqual([
      ['0', localTimestamp(0), '0', 'Wait for connection'],
      ['0', localTimestamp(0), '1', 'Wait for connection'],
      ['0', localTimestamp(0), '0', 'Wait for connection'],
      ['0', localTimestamp(0), '1', 'Wait for connection'],
    ]);
  });

  it('are not added when every slot has its child', () => {
    const all = [child(1), child(2)];
    expect(withEmptySlots(all, 2)).toEqual(all);
    expect(withEmptySlots(all, 1)).toEqual(all);
  });
});
