// The one pooler-command predicate: its byte form (the relay's) never misses a query the
// full classification answers, and the classification tells reports from PGPOOL commands.
import { describe, expect, it } from 'vitest';
import { classifyPoolerCommand, mayBePoolerCommand } from '../../../src/admin/pooler-command.js';
import { isShowReport } from '../../../src/admin/show-commands.js';

const cases: Array<[string, string | undefined]> = [
  ['SHOW pool_nodes', 'show pool_nodes'],
  ['  show\tPOOL_PROCESSES;', 'show pool_processes'],
  ['SHOW pool_version', 'show pool_version'],
  ['SHOW pool_unknown', undefined],
  ['SHOW work_mem', undefined],
  ['PGPOOL SHOW ALL', 'pgpool show'],
  ['pgpool set log_statement = on', 'pgpool set'],
  ['PGPOOL RESET ALL', 'pgpool reset'],
  ['PGPOOL nonsense', 'pgpool syntax'],
  ['SELECT 1', undefined],
  ['showpool_nodes', undefined],
];

describe('pooler commands', () => {
  it.each(cases)('%s', (query, want) => {
    const c = classifyPoolerCommand(query, isShowReport);
    const got = c === undefined ? undefined : c.kind === 'show' ? `show ${c.name}` : `pgpool ${c.command.kind}`;
    expect(got).toBe(want);
    const bytes = Buffer.from(query);
    if (want !== undefined) expect(mayBePoolerCommand(bytes, 0, bytes.length)).toBe(true);
    if (!/pool/i.test(query)) expect(mayBePoolerCommand(bytes, 0, bytes.length)).toBe(false);
  });
});
