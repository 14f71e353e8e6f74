// The relay over two real socket pairs (client ↔ relay ↔ server): bytes pass unchanged
// both ways, Terminate is withheld, a pooler command is answered and never reaches the
// server, the stream state follows, and a bad length ends it with a protocol error.
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DurationCounts } from '../../../../src/metrics/duration-histogram.js';
import { Relay, type PoolerCommandHook, type RelayEnd } from '../../../../src/worker/relay/relay.js';
import { RequestTiming } from '../../../../src/worker/relay/request-timing.js';
import { msg, query, readyForQuery, receive, socketPair } from '../../../helpers/socket-pair.js';

const open: Array<() => void> = [];
afterEach(() => {
  for (const c of open.splice(0)) c();
});

async function relay(hook: PoolerCommandHook = () => undefined) {
  const front = await socketPair(); // a: the client, b: the pooler's side
  const back = await socketPair(); // a: the pooler's side, b: PostgreSQL
  open.push(front.close, back.close);
  let end!: (e: RelayEnd) => void;
  const ended = new Promise<RelayEnd>((r) => (end = r));
  const timing = new RequestTiming(new DurationCounts(), new DurationCounts());
  const r = new Relay(front.b, back.a, (e) => end(e), hook, timing, 0);
  r.start(Buffer.alloc(0), Buffer.alloc(0));
  return { r, client: front.a, server: back.b, ended };
}

const nothingWithin = (s: net.Socket, ms: number) =>
  new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    setTimeout(() => resolve(Buffer.concat(parts)), ms);
  });

describe('Relay', () => {
  it('passes bytes unchanged both ways and tracks the stream', async () => {
    const { r, client, server } = await relay();
    const q = query('select 1');
    const atServer = receive(server, q.length);
    client.write(q);
    expect(await atServer).toEqual(q);
    expect([r.stream.pending, r.stream.executing]).toEqual([1, true]);
    const reply = Buffer.concat([msg('C', Buffer.from('SELECT 1\0')), readyForQuery('T')]);
    const atClient = receive(client, reply.length);
    server.write(reply);
    expect(await atClient).toEqual(reply);
    expect([r.stream.pending, r.stream.inTransaction, r.bytesFromClient, r.bytesToClient]).toEqual([
      0,
      true,
      q.length,
      reply.length,
    ]);
  });

  it('withholds Terminate from the server and ends with terminate', async () => {
    const { client, server, ended } = await relay();
    const q = query('select 1');
    const atServer = nothingWithin(server, 200);
    client.write(Buffer.concat([q, msg('X')]));
    expect(await ended).toEqual({ kind: 'terminate' });
    expect(await atServer).toEqual(q);
  });

  it('answers a pooler command itself, executing while the answer is on its way', async () => {
    let release!: (b: Buffer) => void;
    const ref: { relay?: Relay } = {};
    let executingMeanwhile: boolean | undefined;
    const hook: PoolerCommandHook = (text) =>
      text === 'SHOW pool_nodes'
        ? () =>
            new Promise<Buffer>((resolve) => {
              executingMeanwhile = ref.relay?.stream.executing;
              release = resolve;
            })
        : undefined;
    const { r, client, server } = await relay(hook);
    ref.relay = r;
    const answer = Buffer.concat([msg('C', Buffer.from('SHOW\0')), readyForQuery('I')]);
    const atServer = nothingWithin(server, 300);
    const atClient = receive(client, answer.length);
    client.write(query('SHOW pool_nodes'));
    await new Promise((res) => setTimeout(res, 50));
    expect(executingMeanwhile).toBe(true);
    release(answer);
    expect(await atClient).toEqual(answer);
    expect(r.stream.executing).toBe(false);
    expect((await atServer).length).toBe(0);
  });

  it('lets an ordinary SHOW through to PostgreSQL', async () => {
    const { client, server } = await relay((text) => (text.includes('pool_') ? () => Buffer.alloc(0) : undefined));
    const q = query('SHOW work_mem');
    const atServer = receive(server, q.length);
    client.write(q);
    expect(await atServer).toEqual(q);
  });

  it('ends with a protocol error on a length below 4', async () => {
    const { client, ended } = await relay();
    client.write(Buffer.from([0x51, 0, 0, 0, 3]));
    expect(await ended).toEqual({ kind: 'protocol-error', message: 'invalid message length 3' });
  });

  it('ends with client-gone when the client closes without Terminate', async () => {
    const { client, ended } = await relay();
    client.end();
    expect(await ended).toEqual({ kind: 'client-gone' });
  });
});
