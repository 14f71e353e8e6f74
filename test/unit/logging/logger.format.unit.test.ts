// The text form of log lines (log_format = text): pure formatting of a pino record.
import { describe, expect, it } from 'vitest';

describe('text log lines (log_format = text)', () => {
  it("render log_line_prefix's escapes, pgpool's severity and the remaining fields", async () => {
    const { textLine } = await import('../../../src/logging/logger.js');
    const time = new Date(2026, 10, 22, 5, 2, 0, 123).getTime();
    const rec = {
      level: 30,
      time,
      pid: 4242,
      name: 'pgpool-ts worker 0',
      msg: 'new connection received',
      user: 'alice',
      database: 'app',
      child: 3,
    };
    expect(textLine(rec, '%m: %a pid %p: ')).toBe(
      '2026-11-22 05:02:00.123: pgpool-ts worker 0 pid 4242: LOG:  new connection received  (user=alice database=app child=3)\n',
    );
    expect(
      textLine(
        { ...rec, level: 40, msg: 'w', user: undefined, database: undefined, child: undefined },
        '%t [%u@%d] %% ',
      ),
    ).toBe('2026-11-22 05:02:00 [@] % WARNING:  w\n');
  });
});
