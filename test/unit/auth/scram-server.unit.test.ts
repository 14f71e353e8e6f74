// The SCRAM-SHA-256 server exchange, against a real SCRAM client.
import { describe, expect, it } from 'vitest';
import { ScramClient } from '../../../src/auth/scram-client.js';
import { scramVerifier, ScramError, ScramServer } from '../../../src/auth/scram-server.js';

describe('SCRAM-SHA-256 server', () => {
  it('accepts the right password from a SCRAM client and signs its answer', () => {
    const server = new ScramServer(scramVerifier('sekret'));
    const c = new ScramClient('sekret');
    const serverFirst = server.first(c.first());
    expect(serverFirst).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    const serverFinal = server.final(c.final(serverFirst));
    expect(serverFinal).toMatch(/^v=/);
    expect(c.verify(serverFinal!)).toBe(true);
  });

  it('refuses a wrong password, a changed nonce, and channel binding it did not offer', () => {
    const server = new ScramServer(scramVerifier('sekret'));
    const c = new ScramClient('wrong');
    const serverFirst = server.first(c.first());
    expect(server.final(c.final(serverFirst))).toBeUndefined();
    const s2 = new ScramServer(scramVerifier('sekret'));
    const c2 = new ScramClient('sekret');
    const first2 = s2.first(c2.first());
    const final2 = c2.final(first2).replace(/r=([^,]+)/, 'r=$1x');
    expect(() => s2.final(final2)).toThrow(ScramError);
    expect(() => new ScramServer(scramVerifier('x')).first('p=tls-server-end-point,,n=,r=abc')).toThrow(
      'channel binding is not supported by this server',
    );
  });
});
