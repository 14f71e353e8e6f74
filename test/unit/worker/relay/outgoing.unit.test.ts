// Bytes on their way to a socket: views that lie back to back in one chunk go out as one
// view of the same memory, other parts corked together as one writev; a routed leg's
// writer holds them to the turn's end unless someone else is about to write.
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Outgoing } from '../../../../src/worker/relay/outgoing.js';
import { BatchedWriter } from '../../../../src/worker/relay/routed-leg.js';

/** The calls a socket gets, in order. */
function recordingSocket() {
  const calls: Array<string | Buffer> = [];
  const socket = {
    writableNeedDrain: false,
    cork: () => calls.push('cork'),
    uncork: () => calls.push('uncork'),
    write: (b: Buffer) => {
      calls.push(b);
      return true;
    },
  };
  return { calls, socket: socket as unknown as net.Socket };
}

describe('Outgoing', () => {
  it('joins views that continue each other into one view of the same memory', () => {
    const chunk = Buffer.from('aaaabbbbcccc');
    const out = new Outgoing();
    out.push(chunk.subarray(0, 4));
    out.push(chunk.subarray(4, 8));
    out.push(chunk.subarray(8, 12));
    expect(out.bytes).toBe(12);
    const { calls, socket } = recordingSocket();
    expect(out.writeTo(socket)).toBe(true);
    expect(calls).toHaveLength(1);
    const written = calls[0] as Buffer;
    expect(written.toString()).toBe('aaaabbbbcccc');
    expect([written.buffer === chunk.buffer, written.byteOffset]).toEqual([true, chunk.byteOffset]);
    expect([out.empty, out.bytes]).toEqual([true, 0]);
  });

  it('writes parts that do not continue each other corked, in order', () => {
    const one = Buffer.from('xxxxyyyy');
    const other = Buffer.from('Z');
    const out = new Outgoing();
    out.push(one.subarray(0, 4));
    out.push(other);
    // Same chunk, but not right after the last part: a part of its own.
    out.push(one.subarray(4, 8));
    const { calls, socket } = recordingSocket();
    out.writeTo(socket);
    expect(calls.map((c) => (typeof c === 'string' ? c : c.toString()))).toEqual([
      'cork',
      'xxxx',
      'Z',
      'yyyy',
      'uncork',
    ]);
  });

  it('a gap in the same chunk is not joined over', () => {
    const chunk = Buffer.from('0123456789');
    const out = new Outgoing();
    out.push(chunk.subarray(0, 3));
    out.push(chunk.subarray(5, 8));
    const { calls, socket } = recordingSocket();
    out.writeTo(socket);
    expect(calls.filter((c) => typeof c !== 'string').map(String)).toEqual(['012', '567']);
  });
});

describe('BatchedWriter', () => {
  const turn = () => new Promise((r) => setImmediate(r));

  it('writes at the end of the turn, every writer in one pass, and at once when asked first', async () => {
    const a = recordingSocket();
    const b = recordingSocket();
    const wa = new BatchedWriter(a.socket);
    const wb = new BatchedWriter(b.socket);
    const chunk = Buffer.from('1234');
    expect(wa.write(chunk.subarray(0, 2))).toBe(true);
    wa.write(chunk.subarray(2, 4));
    wb.write(Buffer.from('b'));
    expect([a.calls, b.calls]).toEqual([[], []]);
    await turn();
    expect(a.calls.map(String)).toEqual(['1234']);
    expect(b.calls.map(String)).toEqual(['b']);
    // Someone else is about to write to the socket: what waits goes first, and only once.
    wa.write(Buffer.from('pending'));
    wa.writePending();
    a.socket.write(Buffer.from('FATAL'));
    await turn();
    expect(a.calls.slice(1).map(String)).toEqual(['pending', 'FATAL']);
  });
});
