// stopReading on real kernel sockets: what the stream read comes back, and nothing more is
// read afterwards — not even when it runs inside a 'data' handler, where the stream's
// read-ahead would otherwise start the handle again and swallow the client's next bytes.
import { describe, expect, it } from 'vitest';
import { stopReading } from '../../../src/protocol/socket-handoff.js';
import { socketPair } from '../../helpers/socket-pair.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stopReading', () => {
  it('inside a data handler: later bytes stay in the kernel', async () => {
    const pair = await socketPair();
    const got: Buffer[] = [];
    let leftover: Buffer | undefined;
    pair.b.on('data', (chunk: Buffer) => {
      got.push(chunk);
      leftover ??= stopReading(pair.b);
    });
    pair.a.write('startup');
    await sleep(100);
    pair.a.write('the next message');
    await sleep(200);
    expect(Buffer.concat(got).toString()).toBe('startup');
    expect(leftover).toEqual(Buffer.alloc(0));
    expect(pair.b.readableLength).toBe(0);
    pair.close();
  });

  it('outside: returns what the stream had buffered and read no further', async () => {
    const pair = await socketPair();
    pair.b.pause();
    pair.a.write('buffered');
    await sleep(100);
    const read = stopReading(pair.b);
    pair.a.write('kept in the kernel');
    await sleep(200);
    expect(read.toString()).toBe('buffered');
    expect(pair.b.readableLength).toBe(0);
    pair.close();
  });
});
