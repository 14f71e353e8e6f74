// The reset between clients against a scripted server on a real socket pair: replies the
// departed client still had coming are drained, an unsynced batch gets its Sync, ABORT is
// skipped outside a transaction, and every way of failing says why.
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { resetConnection } from '../../../src/backend/reset.js';
import { ServerConnection } from '../../../src/backend/server-connection.js';
import { StreamState } from '../../../src/protocol/stream-state.js';
import { cstr, msg, query, readyForQuery, socketPair } from '../../helpers/socket-pair.js';

const address = { node: 0, host: '/tmp', port: 5432, connectTimeoutMs: 0 };

/** The server side: records the message types it gets and answers each Query/Sync with `answer`. */
function script(server: net.Socket, answer: (type: string, text: string) => Buffer): string[] {
  const got: string[] = [];
  let buf = Buffer.alloc(0);
  server.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
      const len = buf.readInt32BE(1);
      const type = String.fromCharCode(buf[0]);
      const text = buf.toString('utf8', 5, len).replace(/\0$/, '');
      buf = buf.subarray(1 + len);
      got.push(type === 'Q' ? `Q ${text}` : type);
      const reply = answer(type, text);
      if (reply.length > 0) server.write(reply);
    }
  });
  return got;
}

async function setup(answer: (type: string, text: string) => Buffer) {
  const pair = await socketPair();
  const conn = new ServerConnection(pair.a, address, Buffer.alloc(9), 'u', 'db');
  conn.transition('leased');
  conn.transition('resetting');
  return { conn, got: script(pair.b, answer), server: pair.b, close: pair.close };
}

const ok = (status: 'I' | 'T' = 'I') => Buffer.concat([msg('C', cstr('X')), readyForQuery(status)]);
const plan = (queries: string[]) => ({ queries, timeoutMs: 2000 });

describe('resetConnection', () => {
  it('drains the pending replies, sends Sync for an unsynced batch, skips ABORT when idle', async () => {
    const { conn, got, server, close } = await setup((type) => (type === 'S' || type === 'Q' ? ok() : Buffer.alloc(0)));
    const stream = new StreamState();
    stream.client.scan(Buffer.concat([query('select pg_sleep(1)'), msg('P', cstr(''))]));
    server.write(readyForQuery('I')); // the departed client's query, answered late
    const out = await resetConnection(conn, stream, plan(['ABORT', 'DISCARD ALL']));
    expect(out).toEqual({ clean: true });
    expect(got).toEqual(['S', 'Q DISCARD ALL']);
    expect(stream.pending).toBe(0);
    close();
  });

  it('runs ABORT inside a transaction, and reports a failed reset query', async () => {
    const { conn, got, close } = await setup((type, text) =>
      text === 'DISCARD ALL' ? Buffer.concat([msg('E', cstr('SERROR')), readyForQuery('I')]) : ok(),
    );
    const stream = new StreamState();
    stream.txStatus = 0x54;
    expect(await resetConnection(conn, stream, plan(['ABORT', 'DISCARD ALL']))).toEqual({
      clean: false,
      why: 'reset query "DISCARD ALL" failed',
    });
    expect(got).toEqual(['Q ABORT', 'Q DISCARD ALL']);
    close();
  });

  it('fails a COPY FROM STDIN the client left in', async () => {
    const { conn, got, close } = await setup((type) =>
      type === 'f' ? Buffer.concat([msg('E', cstr('SERROR')), readyForQuery('I')]) : ok(),
    );
    const stream = new StreamState();
    stream.client.scan(query('copy t from stdin'));
    stream.server.scan(msg('G', Buffer.alloc(3)));
    expect(await resetConnection(conn, stream, plan([]))).toEqual({ clean: true });
    expect(got).toEqual(['f']);
    close();
  });

  it('gives up after the timeout, and distrusts a connection that says more than asked', async () => {
    const slow = await setup(() => Buffer.alloc(0));
    const waiting = new StreamState();
    waiting.client.scan(query('select 1'));
    expect(await resetConnection(slow.conn, waiting, { queries: [], timeoutMs: 50 })).toEqual({
      clean: false,
      why: 'no answer within 50 ms',
    });
    slow.close();
    const chatty = await setup((type) =>
      type === 'Q' ? Buffer.concat([ok(), msg('N', cstr('SNOTICE'))]) : Buffer.alloc(0),
    );
    const out = await resetConnection(chatty.conn, new StreamState(), plan(['DISCARD ALL']));
    // The reply and the notice come in one write, so the reader holds the notice after the reply.
    expect([out, chatty.conn.closed]).toEqual([
      { clean: false, why: 'PostgreSQL sent more than it was asked for' },
      true,
    ]);
    chatty.close();
  });
});
