// The relay's scanners: requests, Sync, Terminate, ReadyForQuery and its status, at every split.
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { readyForQuery, parameterStatus, errorResponse } from '../../../src/protocol/backend-write.js';
import { FramingError, SCAN_CONTINUE } from '../../../src/protocol/header-scanner.js';
import { StreamState } from '../../../src/protocol/stream-state.js';

// A client stream: simple query, extended batch with Sync, function-call-free COPY data, then Terminate.
const frontendStream = Buffer.concat([
  serialize.query('select 1'),
  serialize.parse({ text: 'select $1', name: 's1' }),
  serialize.bind({ statement: 's1', values: ['x'] }),
  serialize.describe({ type: 'P' }),
  serialize.execute({}),
  serialize.sync(),
  serialize.copyData(Buffer.alloc(300, 7)),
  serialize.copyDone(),
  serialize.parse({ text: 'select 2' }),
  serialize.flush(),
  serialize.end(),
  serialize.query('never forwarded'),
]);
const terminateAt = frontendStream.length - serialize.query('never forwarded').length - 5;

function scanFrontend(chunks: Buffer[]): { ready: number; unsynced: boolean; terminate: number } {
  const st = new StreamState();
  const s = st.client;
  let offset = 0;
  for (const c of chunks) {
    const stop = s.scan(c);
    if (stop !== SCAN_CONTINUE) return { ready: st.requests, unsynced: st.unsynced, terminate: offset + stop };
    offset += c.length;
  }
  return { ready: st.requests, unsynced: st.unsynced, terminate: -1 };
}

function splits(buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf], [...buf].map((b) => Buffer.from([b]))];
  for (let i = 1; i < buf.length; i++) out.push([buf.subarray(0, i), buf.subarray(i)]);
  return out;
}

describe('FrontendScanner', () => {
  it('counts requests, tracks Sync and stops at Terminate for every way of splitting the stream', () => {
    for (const chunks of splits(frontendStream)) {
      expect(scanFrontend(chunks)).toEqual({ ready: 2, unsynced: true, terminate: terminateAt });
    }
  });

  it('stops at a Query when asked, and lets it pass once', () => {
    const st = new StreamState();
    const s = st.client;
    s.stopAtQuery = true;
    const buf = Buffer.concat([serialize.sync(), serialize.query('show pool_version'), serialize.sync()]);
    expect(s.scan(buf)).toBe(5);
    s.passQuery = true;
    expect(s.scan(buf, 5)).toBe(SCAN_CONTINUE);
    expect(st.requests).toBe(3);
  });

  it('throws on a length below 4', () => {
    expect(() => new StreamState().client.scan(Buffer.from([0x51, 0, 0, 0, 3]))).toThrow(FramingError);
  });
});

describe('BackendScanner', () => {
  const stream = Buffer.concat([
    parameterStatus('DateStyle', 'ISO, MDY'),
    readyForQuery(0x49),
    Buffer.from([0x44, 0, 0, 0, 10, 0, 1, 0, 0, 0, 0]), // DataRow (empty value)
    readyForQuery(0x54),
    errorResponse({ severity: 'ERROR', sqlstate: '22012', message: 'division by zero' }),
    readyForQuery(0x45),
  ]);
  it('keeps the last transaction status and counts ReadyForQuery at every split', () => {
    for (const chunks of splits(stream)) {
      const st = new StreamState();
      const s = st.server;
      for (const c of chunks) s.scan(c);
      expect([st.replies, String.fromCharCode(st.txStatus)]).toEqual([3, 'E']);
      expect(s.atBoundary).toBe(true);
    }
  });
});
