// The start-up exchange as clients see it, byte for byte: encryption requests answered
// 'N', bad packets refused with a FATAL and the connection closed (the pooler serving
// others all along), protocol 3.2 with its longer cancel keys, and the greeting on a
// fresh and on a reused connection.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from '../../src/protocol/codes.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import {
  closeRawConnections,
  firstError,
  messageTypes,
  rawConnect,
  requestPacket,
  startupPacket,
} from '../helpers/raw.js';

let pooler: Pooler;
beforeAll(async () => {
  pooler = await startPooler({ num_init_children: 2, worker_processes: 1, authentication_timeout: 1 });
});
afterEach(closeRawConnections);
afterAll(stopAllPoolers);

const terminate = Buffer.from([0x58, 0, 0, 0, 4]);

async function stillServes(): Promise<void> {
  const c = new pg.Client(pooler.client());
  await c.connect();
  expect((await c.query('select 7 as n')).rows[0].n).toBe(7);
  await c.end();
}

describe('encryption requests', () => {
  it.each([
    ['SSLRequest', SSL_REQUEST_CODE],
    ['GSSENCRequest', GSSENC_REQUEST_CODE],
  ])('answers %s with N, then serves the startup', async (name, code) => {
    const raw = await rawConnect(pooler.port);
    raw.send(requestPacket(code));
    expect((await raw.read(1)).toString()).toBe('N');
    raw.send(startupPacket({ user: 'postgres', database: 'app', application_name: name }));
    const got = await raw.ready();
    expect(messageTypes(got.subarray(1)).replace(/S+/, 'S')).toBe('RSKZ');
    raw.send(terminate);
    await raw.closed();
  });

  it('refuses a second SSLRequest', async () => {
    const raw = await rawConnect(pooler.port);
    raw.send(requestPacket(SSL_REQUEST_CODE));
    await raw.read(1);
    raw.send(requestPacket(SSL_REQUEST_CODE));
    const got = await raw.closed();
    expect(firstError(got.subarray(1))).toMatchObject({ S: 'FATAL', C: '08P01', D: 'SSLRequest received twice' });
  });
});

describe('bad start-up input', () => {
  // As PostgreSQL: a length no startup packet can have is logged and the connection closed
  // without a byte written (docs/behaviour.md#startup).
  it.each([
    ['garbage (an HTTP request)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a length of 2^31-1', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0])],
    ['a length below the minimum', Buffer.from([0, 0, 0, 4, 0, 3, 0, 0])],
    ['a Terminate sent before the startup packet', Buffer.from([0x58, 0, 0, 0, 4])],
  ])('closes on %s without writing anything', async (_name, bytes) => {
    const raw = await rawConnect(pooler.port);
    raw.send(bytes);
    expect((await raw.closed()).length).toBe(0);
    await stillServes();
  });

  it("node-postgres's connect() then end() at once behaves as against PostgreSQL: no error, nothing settles", async () => {
    // node-postgres queues Terminate before the startup packet here. Against PostgreSQL its
    // connect() neither resolves nor rejects and no 'error' event comes; an ErrorResponse
    // from the pooler would reject it (or, unhandled, end the application).
    const attempt = async (cfg: pg.ClientConfig) => {
      const c = new pg.Client(cfg);
      const seen: string[] = [];
      c.on('error', (e) => seen.push(`error event: ${e.message}`));
      c.connect().then(
        () => seen.push('connected'),
        (e: Error) => seen.push(`rejected: ${e.message}`),
      );
      c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      return seen;
    };
    const direct = inject('pg');
    expect(await attempt({ host: direct.host, port: direct.port, user: 'postgres', database: 'app' })).toEqual([]);
    expect(await attempt(pooler.client('postgres', 'app'))).toEqual([]);
    await stillServes();
  });

  it.each([
    [
      'protocol 2.0',
      startupPacket({ user: 'postgres' }, 0x00020000),
      { S: 'FATAL', C: '0A000', M: 'unsupported frontend protocol 2.0: server supports 3.0 to 3.2' },
    ],
    [
      'protocol 9.0',
      startupPacket({ user: 'postgres' }, 0x00090000),
      { C: '0A000', D: 'invalid major no: 9 in startup packet' },
    ],
    [
      'no user name',
      startupPacket({ database: 'app' }),
      { S: 'FATAL', C: '28000', M: 'no PostgreSQL user name specified in startup packet' },
    ],
    [
      'a parameter without value',
      Buffer.concat([Buffer.from([0, 0, 0, 13, 0, 3, 0, 0]), Buffer.from('user\0')]),
      { C: '08P01', M: 'invalid startup packet layout' },
    ],
  ])('answers %s with a FATAL and closes', async (_name, bytes, fields) => {
    const raw = await rawConnect(pooler.port);
    raw.send(bytes);
    const got = await raw.closed();
    expect(firstError(got)).toMatchObject(fields);
    await stillServes();
  });

  it('closes a client that sends half a startup packet and then nothing (authentication_timeout)', async () => {
    const raw = await rawConnect(pooler.port);
    const t0 = Date.now();
    raw.send(startupPacket({ user: 'postgres', database: 'app' }).subarray(0, 12));
    const got = await raw.closed(5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(firstError(got)).toMatchObject({ S: 'FATAL', M: 'authentication timeout' });
    await stillServes();
  });
});

describe('greeting', () => {
  it('sends S before K on a fresh connection and K before S on a reused one', async () => {
    const types: string[] = [];
    for (let i = 0; i < 2; i++) {
      const raw = await rawConnect(pooler.port);
      raw.send(startupPacket({ user: 'alice', database: 'app2', application_name: 'greeting' }));
      types.push(messageTypes(await raw.ready()).replace(/S+/, 'S'));
      raw.send(terminate);
      await raw.closed();
    }
    expect(types).toEqual(['RSKZ', 'RKSZ']);
  });

  it('greets a reusing client with the parameter values the reset left, not those of the first greeting', async () => {
    // The reset reports DateStyle's new value; the greeting built for the first client must not be replayed.
    const own = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      reset_query_list: 'ABORT; DISCARD ALL; SET DateStyle = German',
    });
    const dateStyles: string[] = [];
    for (let i = 0; i < 2; i++) {
      const raw = await rawConnect(own.port);
      raw.send(startupPacket({ user: 'alice', database: 'app2', application_name: 'greeting-params' }));
      const buf = await raw.ready();
      for (let at = 0; at < buf.length; at += 1 + buf.readInt32BE(at + 1)) {
        const [name, value] = buf.toString('utf8', at + 5, at + 1 + buf.readInt32BE(at + 1) - 1).split('\0');
        if (buf[at] === 0x53 && name === 'DateStyle') dateStyles.push(value);
      }
      raw.send(terminate);
      await raw.closed();
    }
    expect(dateStyles).toEqual(['ISO, MDY', 'German, DMY']);
  });

  it('negotiates protocol 3.2 and issues a 32-byte cancel key', async () => {
    const raw = await rawConnect(pooler.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app' }, 0x00030002));
    const buf = await raw.ready();
    let i = 0;
    let keyLength = -1;
    while (i < buf.length) {
      const len = buf.readInt32BE(i + 1);
      if (buf[i] === 0x4b) keyLength = len - 8;
      i += 1 + len;
    }
    expect(keyLength).toBe(32);
    raw.send(terminate);
    await raw.closed();
  });

  it("relays PostgreSQL's NegotiateProtocolVersion for an unknown protocol option", async () => {
    const raw = await rawConnect(pooler.port);
    raw.send(startupPacket({ user: 'postgres', database: 'app', '_pq_.no_such_option': 'on' }));
    const buf = await raw.ready();
    expect(String.fromCharCode(buf[0])).toBe('v');
    expect(buf.subarray(5).includes(Buffer.from('_pq_.no_such_option'))).toBe(true);
    raw.send(terminate);
    await raw.closed();
  });
});
