// Asking a client for its password, as pgpool does when it must prove the client
// itself (pgpool-behavior.md §6.4): an md5 challenge with a fresh random salt verified
// against what the pooler holds, or a clear-text request whose answer is kept.
import crypto from 'node:crypto';
import type net from 'node:net';
import { AuthCode, FrontendCode } from '../protocol/codes.js';
import { authenticationRequest } from '../protocol/backend-write.js';
import type { MessageStream } from '../worker/message-stream.js';
import { md5Response, md5Stored } from './md5.js';

async function readPassword(stream: MessageStream, timeoutMs: number): Promise<string | undefined> {
  const m = await stream.next(timeoutMs).catch(() => undefined);
  if (!m || m.type !== FrontendCode.Password) return undefined;
  const end = m.body.indexOf(0);
  return m.body.toString('utf8', 0, end < 0 ? m.body.length : end);
}

/** Clear-text request (R 3); resolves to the password the client typed, or undefined. */
export async function askClearText(client: net.Socket, stream: MessageStream, timeoutMs: number): Promise<string | undefined> {
  client.write(authenticationRequest(AuthCode.CleartextPassword));
  return readPassword(stream, timeoutMs);
}

/**
 * md5 challenge (R 5) with a new random salt. `secret` is a plain password or an md5
 * stored hash ("md5…"); true when the client's answer matches.
 */
export async function challengeMd5(client: net.Socket, stream: MessageStream, user: string, secret: string, timeoutMs: number): Promise<boolean> {
  const salt = crypto.randomBytes(4);
  client.write(authenticationRequest(AuthCode.MD5Password, salt));
  const answer = await readPassword(stream, timeoutMs);
  if (answer === undefined) return false;
  const stored = /^md5[0-9a-f]{32}$/.test(secret) ? secret : md5Stored(secret, user);
  const expected = Buffer.from(md5Response(stored, salt));
  const got = Buffer.from(answer);
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}
