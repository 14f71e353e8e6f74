// SCRAM-SHA-256 server side (RFC 5802/7677) for authenticating a client against a
// plain-text password the pooler holds, as pgpool does (docs/behaviour.md#authentication):
// a verifier built from the password with a random salt and 4096 iterations.
// Pure: the exchange is two strings in, two strings out.
import crypto from 'node:crypto';

import { hmac, scramKeys, sha256 } from './scram-keys.js';

const ITERATIONS = 4096;

export interface ScramVerifier {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function scramVerifier(password: string, salt = crypto.randomBytes(16), iterations = ITERATIONS): ScramVerifier {
  const { storedKey, serverKey } = scramKeys(password, salt, iterations);
  return { salt, iterations, storedKey, serverKey };
}

// Building a verifier costs 4096 HMAC rounds; a worker keeps the last few per password.
const verifiers = new Map<string, ScramVerifier>();
export function cachedVerifier(user: string, password: string): ScramVerifier {
  const k = crypto.createHash('sha256').update(`${user}\0${password}`).digest('base64');
  let v = verifiers.get(k);
  if (!v) {
    if (verifiers.size >= 256) verifiers.delete(verifiers.keys().next().value!);
    verifiers.set(k, (v = scramVerifier(password)));
  }
  return v;
}

// Per process: a user the pooler holds no password for gets the same salt at every attempt
// here, as a known user's cached verifier does, without anything telling the two apart.
const mockSecret = crypto.randomBytes(32);

/**
 * A verifier no proof can match, for a user without a usable pool_passwd entry: its salt is
 * derived from the user name and a per-process secret (PostgreSQL's scram_mock_salt does the
 * same with its cluster's mock nonce), so the exchange looks like a known user's.
 */
export function mockVerifier(user: string): ScramVerifier {
  const salt = crypto.createHash('sha256').update(mockSecret).update(user).digest().subarray(0, 16);
  return { salt, iterations: ITERATIONS, storedKey: crypto.randomBytes(32), serverKey: crypto.randomBytes(32) };
}

export class ScramError extends Error {}

export class ScramServer {
  private readonly nonce = crypto.randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private combinedNonce = '';

  constructor(private readonly v: ScramVerifier) {}

  /** server-first-message for the client-first-message. */
  first(clientFirst: string): string {
    const m = /^([ny])(?:=[^,]*)?,(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (!m) {
      if (clientFirst.startsWith('p')) throw new ScramError('channel binding is not supported by this server');
      throw new ScramError('malformed SCRAM message: invalid GS2 header');
    }
    this.gs2Header = clientFirst.slice(0, clientFirst.length - m[3].length);
    this.clientFirstBare = m[3];
    const attrs = new Map(this.clientFirstBare.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const cnonce = attrs.get('r');
    if (!cnonce || /[^\x21-\x2b\x2d-\x7e]/.test(cnonce))
      throw new ScramError('malformed SCRAM message: invalid client nonce');
    this.combinedNonce = cnonce + this.nonce;
    this.serverFirst = `r=${this.combinedNonce},s=${this.v.salt.toString('base64')},i=${this.v.iterations}`;
    return this.serverFirst;
  }

  /** server-final-message when the client's proof is right, else undefined. */
  final(clientFinal: string): string | undefined {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('malformed SCRAM message: no proof');
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = new Map(withoutProof.split(',').map((kv) => [kv[0], kv.slice(2)]));
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64'))
      throw new ScramError('SCRAM channel binding check failed');
    if (attrs.get('r') !== this.combinedNonce) throw new ScramError('SCRAM nonce does not match');
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.v.storedKey, authMessage);
    if (proof.length !== signature.length) return undefined;
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
    if (!crypto.timingSafeEqual(sha256(clientKey), this.v.storedKey)) return undefined;
    return `v=${hmac(this.v.serverKey, authMessage).toString('base64')}`;
  }
}
