// No user enumeration (docs/behaviour.md#authentication): with an md5 or scram-sha-256
// pool_hba.conf line, a user pool_passwd has no usable entry for is challenged exactly as a
// known user and refused with a wrong password's message; only the log says what happened.
import { serialize } from 'pg-protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { md5Response, md5Stored } from '../../src/auth/md5.js';
import { ScramClient } from '../../src/auth/scram-client.js';
import { backendPid } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { closeRawConnections, firstError, messagesFrom, rawConnect, startupPacket } from '../helpers/raw.js';
import { USERS } from './global-setup.js';

afterEach(closeRawConnections);
afterAll(stopAllPoolers);

const pooler = (method: string, passwd: string) =>
  startPooler(
    { num_init_children: 2, worker_processes: 1, enable_pool_hba: true, pool_passwd: 'pool_passwd' },
    { 'pool_hba.conf': `host all all 127.0.0.1/32 ${method}\n`, pool_passwd: passwd },
  );

/** Every message the server sent: type, its auth code (R) or -1, and its body. */
const received = (buf: Buffer) =>
  messagesFrom(buf).map(([type, body]) => ({ type, code: type === 'R' ? body.readInt32BE(0) : -1, body }));

/** An md5 exchange as a client typing `password` for `user`: what it saw. */
async function md5Attempt(p: Pooler, user: string, password: string) {
  const raw = await rawConnect(p.port);
  raw.send(startupPacket({ user, database: 'app' }));
  const challenge = await raw.read(13);
  const salt = challenge.subarray(9, 13);
  raw.send(serialize.password(md5Response(md5Stored(password, user), salt)));
  const all = await raw.closed(10_000);
  return {
    shape: received(all).map((m) => [m.type, m.code, m.type === 'R' ? m.body.length : 0]),
    error: firstError(all),
  };
}

/** A SCRAM exchange as a client typing `password` for `user`: what it saw. */
async function scramAttempt(p: Pooler, user: string, password: string) {
  const raw = await rawConnect(p.port);
  raw.send(startupPacket({ user, database: 'app' }));
  const saslLength = 1 + 4 + 4 + 'SCRAM-SHA-256\0\0'.length;
  const sasl = received(await raw.read(saslLength))[0];
  const client = new ScramClient(password);
  raw.send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', client.first()));
  // R 11 (SASLContinue): its length, then all of it.
  const head = await raw.read(saslLength + 5);
  const continued = received(await raw.read(saslLength + 1 + head.readInt32BE(saslLength + 1)))[1];
  const serverFirst = continued.body.subarray(4).toString();
  raw.send(serialize.sendSCRAMClientFinalMessage(client.final(serverFirst)));
  const all = await raw.closed(10_000);
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  return {
    mechanisms: sasl.body.subarray(4).toString(),
    shape: received(all).map((m) => [m.type, m.code]),
    salt: attrs.get('s')!,
    saltBytes: Buffer.from(attrs.get('s')!, 'base64').length,
    iterations: attrs.get('i'),
    nonceLength: attrs.get('r')!.length,
    error: firstError(all),
  };
}

describe('no user enumeration', () => {
  it('md5: an unknown user gets a salt and the wrong-password FATAL, byte for byte the same exchange', async () => {
    const known = USERS.md5;
    const p = await pooler('md5', `${known.name}:${md5Stored(known.password, known.name)}\n`);
    const wrong = await md5Attempt(p, known.name, 'not the password');
    const unknown = await md5Attempt(p, 'ghost', 'any password');
    expect(wrong.shape).toEqual([
      ['R', 5, 8],
      ['E', -1, 0],
    ]);
    expect(unknown).toEqual(wrong);
    expect(wrong.error).toMatchObject({
      S: 'FATAL',
      C: '28P01',
      M: 'md5 authentication failed',
      D: 'password does not match (client to pgpool-ts)',
    });
    // The log says what really happened.
    await p.waitForLog(/pool_passwd file does not contain an entry for \\"ghost\\"/);
    await p.stop();
  });

  it('SCRAM: an unknown user, or one with only an md5 hash, gets a mock salt and iteration count and the wrong-password FATAL', async () => {
    const known = USERS.scram;
    const p = await pooler(
      'scram-sha-256',
      `${known.name}:TEXT${known.password}\nhashed:${md5Stored('pw', 'hashed')}\n`,
    );
    const wrong = await scramAttempt(p, known.name, 'not the password');
    const unknown = await scramAttempt(p, 'ghost', 'any password');
    const hashed = await scramAttempt(p, 'hashed', 'pw');
    const sameExchange = ({ salt: _salt, error, ...rest }: Awaited<ReturnType<typeof scramAttempt>>, user: string) => ({
      ...rest,
      error: { ...error, D: error?.D?.replace(`"${user}"`, '"<user>"') },
    });
    expect(wrong.shape).toEqual([
      ['R', 10],
      ['R', 11],
      ['E', -1],
    ]);
    expect(wrong).toMatchObject({ mechanisms: 'SCRAM-SHA-256\0\0', saltBytes: 16, iterations: '4096' });
    expect(sameExchange(unknown, 'ghost')).toEqual(sameExchange(wrong, known.name));
    expect(sameExchange(hashed, 'hashed')).toEqual(sameExchange(wrong, known.name));
    expect(unknown.error).toMatchObject({
      S: 'FATAL',
      C: '28P01',
      M: 'authentication failed',
      D: 'username "ghost" or password does not exist in backend (client to pgpool-ts)',
    });
    // As a known user's cached verifier, the mock salt is the same at the next attempt, and differs per user.
    expect((await scramAttempt(p, 'ghost', 'again')).salt).toBe(unknown.salt);
    expect((await scramAttempt(p, 'ghost2', 'again')).salt).not.toBe(unknown.salt);
    expect((await scramAttempt(p, known.name, 'again')).salt).toBe(wrong.salt);
    await p.waitForLog(/pool_passwd file does not contain an entry for \\"ghost\\"/);
    await p.waitForLog(/pool_passwd file does not contain valid SCRAM entry for \\"hashed\\"/);
    // The right password still gets in.
    expect(await backendPid({ ...p.client(known.name, 'app'), password: known.password })).toBeGreaterThan(0);
    await p.stop();
  });
});
