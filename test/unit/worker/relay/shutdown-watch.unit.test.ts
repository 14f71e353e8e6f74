// failover_on_backend_shutdown's tap on a one-node relay: only an ErrorResponse saying
// PostgreSQL shuts down (57P01, 57P02) counts, whatever chunks its body comes in.
import { describe, expect, it } from 'vitest';
import { ShutdownWatch } from '../../../../src/worker/relay/shutdown-watch.js';

/** An ErrorResponse body with the given fields. */
const body = (fields: Record<string, string>) =>
  Buffer.concat([...Object.entries(fields).map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);

function feed(type: number, b: Buffer, split: number): number {
  let calls = 0;
  const w = new ShutdownWatch(() => calls++);
  w.start(type);
  w.body(b, 0, split);
  w.body(b, split, b.length);
  w.end();
  return calls;
}

describe('ShutdownWatch', () => {
  it.each<[string, number, Record<string, string>, number]>([
    ['admin shutdown', 0x45, { S: 'FATAL', C: '57P01', M: 'terminating connection due to administrator command' }, 1],
    ['crash shutdown', 0x45, { S: 'FATAL', C: '57P02', M: 'terminating connection because of crash' }, 1],
    ['another error', 0x45, { S: 'ERROR', C: '42601', M: 'syntax error' }, 0],
    ['a notice with the code', 0x4e, { S: 'NOTICE', C: '57P01', M: 'x' }, 0],
  ])('%s → %d', (_name, type, fields, expected) => {
    expect(feed(type, body(fields), 7)).toBe(expected);
  });
});
