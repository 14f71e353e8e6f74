// Start-up parsing (readStartupPacket), fed whole, split at every offset, and byte by byte.
import { describe, expect, it } from 'vitest';
import { CANCEL_REQUEST_CODE, SSL_REQUEST_CODE } from '../../../src/protocol/codes.js';
import { readStartupPacket, sortedStartupPacket } from '../../../src/protocol/frontend-read.js';
import { startupPacket, requestPacket } from '../../helpers/raw.js';

// A client stream: simple query, extended batch with Sync, function-call-free COPY data, then Terminate.

describe('readStartupPacket', () => {
  const packet = startupPacket({ user: 'alice', database: '', application_name: 'psql' });

  it('needs the whole packet, and reads it at every truncation point', () => {
    for (let i = 0; i < packet.length; i++) expect(readStartupPacket(packet.subarray(0, i)).state).toBe('incomplete');
    const r = readStartupPacket(packet);
    expect(r).toMatchObject({
      state: 'done',
      length: packet.length,
      packet: { kind: 'startup', user: 'alice', database: 'alice', version: 0x30000 },
    });
  });

  it('reads SSLRequest and CancelRequest, and bounds lengths before buffering', () => {
    expect(readStartupPacket(requestPacket(SSL_REQUEST_CODE))).toMatchObject({
      state: 'done',
      packet: { kind: 'ssl' },
    });
    const pidAndKey = Buffer.from('0000000100000002', 'hex');
    expect(readStartupPacket(requestPacket(CANCEL_REQUEST_CODE, pidAndKey))).toMatchObject({
      state: 'done',
      packet: { kind: 'cancel', pid: 1, key: Buffer.from('00000002', 'hex') },
    });
    const huge = Buffer.from([0x40, 0, 0, 0]);
    expect(readStartupPacket(huge)).toMatchObject({
      state: 'error',
      error: { detail: 'incorrect packet length (1073741820)' },
    });
    const longCancel = Buffer.alloc(8);
    longCancel.writeInt32BE(12 + 257, 0);
    longCancel.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    expect(readStartupPacket(longCancel).state).toBe('error');
  });

  it('never throws on random input', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let n = 0; n < 5000; n++) {
      const len = Math.floor(rand() * 40);
      const buf = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
      if (rand() < 0.5 && len >= 8) buf.writeInt32BE(len, 0);
      if (rand() < 0.3 && len >= 8) buf.writeInt32BE(0x30000, 4);
      expect(() => readStartupPacket(buf)).not.toThrow();
    }
  });

  it('sorts parameters by name for the backend and the cache key, adding nothing', () => {
    const sorted = sortedStartupPacket(0x30000, [
      ['user', 'u'],
      ['application_name', 'a'],
      ['database', 'd'],
    ]);
    expect(sorted.subarray(8).toString()).toBe('application_name\0a\0database\0d\0user\0u\0\0');
    expect(sorted.readInt32BE(0)).toBe(sorted.length);
  });

  it('sorts names in UTF-8 byte order and keeps multi-byte values whole', () => {
    // U+FF21 sorts after U+1F600 in UTF-8 (and code point) order, before it in UTF-16 units.
    const sorted = sortedStartupPacket(0x30000, [
      ['\u{1F600}x', 'ü'],
      ['user', 'jürgen'],
      ['\uFF21', 'Grüße, 世界'],
      ['b', ''],
    ]);
    expect(sorted.subarray(8).toString()).toBe('b\0\0user\0jürgen\0\uFF21\0Grüße, 世界\0\u{1F600}x\0ü\0\0');
    expect(sorted.readInt32BE(0)).toBe(sorted.length);
    const back = readStartupPacket(sorted);
    expect(back.state === 'done' && back.packet.kind === 'startup' && back.packet.params).toEqual([
      ['b', ''],
      ['user', 'jürgen'],
      ['\uFF21', 'Grüße, 世界'],
      ['\u{1F600}x', 'ü'],
    ]);
  });
});
