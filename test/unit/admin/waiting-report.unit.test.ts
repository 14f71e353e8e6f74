// SHOW pool_waiting's rows from the front door's waiting clients.
import { describe, expect, it } from 'vitest';
import { pgpoolTime } from '../../../src/admin/process-report.js';
import { WAITING_COLUMNS, waitingReport } from '../../../src/admin/waiting-report.js';

describe('SHOW pool_waiting', () => {
  it('lists each waiting client, first in line first, with what its startup packet said', () => {
    const since = Date.UTC(2026, 11, 3, 9, 30, 0);
    const r = waitingReport([
      { host: '10.0.0.7', port: 51000, user: 'alice', database: 'app', since, admin: false },
      { host: '[local]', port: undefined, since: since + 1000 },
      { host: '10.0.0.8', port: 51001, user: 'postgres', database: 'postgres', since, admin: true },
    ]);
    expect(r.columns).toEqual(WAITING_COLUMNS);
    expect(r.rows).toEqual([
      ['10.0.0.7', '51000', 'alice', 'app', pgpoolTime(since), 'no'],
      ['[local]', '', '', '', pgpoolTime(since + 1000), ''],
      ['10.0.0.8', '51001', 'postgres', 'postgres', pgpoolTime(since), 'yes'],
    ]);
    expect(waitingReport([]).rows).toEqual([]);
  });
});
