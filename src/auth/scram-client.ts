// SCRAM-SHA-256 client side (RFC 5802/7677), for the pooler authenticating to PostgreSQL.
import crypto from 'node:crypto';

import { hmac, scramKeys } from './scram-keys.js';

const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]));

export class ScramClient {
  private readonly nonce = crypto.randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private serverSignature: Buffer | undefined;

  constructor(private readonly password: string) {}

  /** client-first-message; the user name is empty, PostgreSQL takes it from the startup packet. */
  first(): string {
    this.clientFirstBare = `n=*,r=${this.nonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  /** client-final-message for the server-first-message; throws when the server's nonce or parameters are wrong. */
  final(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const r = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!r.startsWith(this.nonce) || r.length === this.nonce.length)
      throw new Error('SCRAM: server nonce does not extend the client nonce');
    if (!Number.isInteger(iterations) || iterations < 1 || salt.length === 0)
      throw new Error('SCRAM: invalid server-first-message');
    const { clientKey, storedKey, serverKey } = scramKeys(this.password, salt, iterations);
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.serverSignature = hmac(serverKey, authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final-message's signature. */
  verify(serverFinal: string): boolean {
    const v = /(?:^|,)v=([^,]+)/.exec(serverFinal)?.[1];
    return (
      v !== undefined &&
      this.serverSignature !== undefined &&
      crypto.timingSafeEqual(Buffer.from(v, 'base64'), this.serverSignature)
    );
  }
}
