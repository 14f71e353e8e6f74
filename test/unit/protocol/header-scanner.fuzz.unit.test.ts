// Property tests for the relay's framers: random message sequences cut at random points
// must give the same counts as a model, never throw on valid framing, and always throw
// (never buffer) on a length below 4.
import { describe, expect, it } from 'vitest';
import { FramingError, SCAN_CONTINUE } from '../../../src/protocol/header-scanner.js';
import { StreamState } from '../../../src/protocol/stream-state.js';

let seed = 1234;
const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;

const FRONTEND_TYPES = 'QPBEDCHSFdcfp'.split('').map((c) => c.charCodeAt(0));
const BACKEND_TYPES = 'RSKZEDTCNAG1234nsIcdv'.split('').map((c) => c.charCodeAt(0));

function message(type: number, bodyLen: number, firstByte?: number): Buffer {
  const m = Buffer.alloc(5 + bodyLen, 0x61);
  m[0] = type;
  m.writeInt32BE(4 + bodyLen, 1);
  if (firstByte !== undefined && bodyLen > 0) m[5] = firstByte;
  return m;
}

function randomSplit(buf: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = 1 + rand(Math.min(64, buf.length - i));
    chunks.push(buf.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

describe('FrontendScanner against a model', () => {
  it('1000 random streams, random splits: same request count, same Terminate offset', () => {
    for (let run = 0; run < 1000; run++) {
      const msgs: Buffer[] = [];
      let ready = 0;
      const count = 1 + rand(30);
      for (let i = 0; i < count; i++) {
        const t = FRONTEND_TYPES[rand(FRONTEND_TYPES.length)];
        if (t === 0x51 || t === 0x53 || t === 0x46) ready++;
        msgs.push(message(t, rand(3) === 0 ? rand(300) : rand(8)));
      }
      const withTerminate = rand(2) === 0;
      const before = Buffer.concat(msgs);
      const stream = withTerminate ? Buffer.concat([before, message(0x58, 0), message(0x51, 5)]) : before;
      const st = new StreamState();
      const s = st.client;
      let offset = 0;
      let stop = -1;
      for (const c of randomSplit(stream)) {
        const r = s.scan(c);
        if (r !== SCAN_CONTINUE) {
          stop = offset + r;
          break;
        }
        offset += c.length;
      }
      expect(stop).toBe(withTerminate ? before.length : -1);
      expect(st.requests).toBe(ready);
    }
  });

  it('throws a FramingError for a length below 4 wherever it is split', () => {
    const bad = Buffer.concat([message(0x51, 3), Buffer.from([0x50, 0, 0, 0, 2])]);
    for (let cut = 1; cut < bad.length; cut++) {
      const st = new StreamState();
      const s = st.client;
      expect(() => {
        s.scan(bad.subarray(0, cut));
        s.scan(bad.subarray(cut));
      }).toThrow(FramingError);
    }
  });
});

describe('BackendScanner against a model', () => {
  it('1000 random streams, random splits: same ReadyForQuery count and last status', () => {
    const statuses = [0x49, 0x54, 0x45];
    for (let run = 0; run < 1000; run++) {
      const msgs: Buffer[] = [];
      let ready = 0;
      let last = 0x49;
      let copyIn = false;
      for (let i = 0; i < 1 + rand(30); i++) {
        const t = BACKEND_TYPES[rand(BACKEND_TYPES.length)];
        if (t === 0x5a) {
          last = statuses[rand(3)];
          ready++;
          copyIn = false;
          msgs.push(message(t, 1, last));
        } else {
          if (t === 0x47) copyIn = true;
          msgs.push(message(t, rand(4) === 0 ? rand(500) : rand(10)));
        }
      }
      const st = new StreamState();
      const s = st.server;
      for (const c of randomSplit(Buffer.concat(msgs))) s.scan(c);
      expect([st.replies, st.txStatus, st.inCopyIn, s.atBoundary]).toEqual([ready, last, copyIn, true]);
    }
  });
});
