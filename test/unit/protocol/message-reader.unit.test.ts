// Whole messages cut from a stream that arrives in pieces: a long message is joined once.
import { describe, expect, it } from 'vitest';
import { MessageReader } from '../../../src/protocol/message-reader.js';

const msg = (type: string, body: string) => {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  b.write(body, 5, 'latin1');
  return b;
};

describe('MessageReader', () => {
  it('cuts messages however the bytes arrive, and counts what it holds', () => {
    const stream = Buffer.concat([msg('Q', 'select 1\0'), msg('X', ''), msg('Q', 'x'.repeat(3000))]);
    for (const size of [1, 2, 5, 7, 64, 4096]) {
      const r = new MessageReader();
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += size) {
        r.push(stream.subarray(i, i + size));
        for (let m = r.next(); m; m = r.next()) got.push(`${String.fromCharCode(m.type)}${m.body.length}`);
      }
      expect(got, `chunks of ${size}`).toEqual(['Q9', 'X0', 'Q3000']);
      expect(r.buffered).toBe(0);
    }
  });

  it('holds a partial message and gives back the rest', () => {
    const r = new MessageReader();
    const m = msg('Q', 'abcdef');
    r.push(m.subarray(0, 3));
    r.push(m.subarray(3, 8));
    expect(r.next()).toBeUndefined();
    expect(r.buffered).toBe(8);
    expect(r.rest()).toEqual(m.subarray(0, 8));
    expect(r.buffered).toBe(0);
  });

  it('takes messages from within one chunk as views of it, and keeps what follows', () => {
    const whole = msg('P', 'stmt\0');
    const partial = msg('S', '').subarray(0, 3);
    const chunk = Buffer.concat([whole, msg('B', 'ab'), partial]);
    const r = new MessageReader();
    r.push(chunk);
    const first = r.nextRaw()!;
    expect(first).toEqual(whole);
    expect(first.buffer).toBe(chunk.buffer);
    expect(first.byteOffset).toBe(chunk.byteOffset);
    expect(r.buffered).toBe(chunk.length - whole.length);
    expect(String.fromCharCode(r.next()!.type)).toBe('B');
    expect(r.nextRaw()).toBeUndefined();
    expect(r.buffered).toBe(3);
    r.push(msg('S', '').subarray(3));
    expect(r.next()).toMatchObject({ type: 0x53, raw: msg('S', '') });
    expect(r.buffered).toBe(0);
    r.push(Buffer.concat([whole, partial]));
    expect(r.nextRaw()).toEqual(whole);
    expect(r.rest()).toEqual(partial);
    expect(r.buffered).toBe(0);
  });

  it('refuses a length no message has', () => {
    const r = new MessageReader();
    r.push(Buffer.from([0x51, 0, 0, 0, 2]));
    expect(() => r.next()).toThrow('invalid message length 2 for message type "Q"');
  });
});
