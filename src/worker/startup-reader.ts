// Reads a client's start-up: answers SSLRequest and GSSENCRequest with 'N' (no TLS yet),
// and returns the startup packet, bounded in size and in time (authentication_timeout).
import type net from 'node:net';
import { errorResponse } from '../protocol/backend-write.js';
import { readStartupPacket, type StartupPacket } from '../protocol/frontend-read.js';
import { authTimeout, PoolerError } from '../protocol/pooler-error.js';

export type StartupOutcome =
  | { ok: true; packet: Extract<StartupPacket, { kind: 'startup' | 'cancel' }>; rest: Buffer }
  | { ok: false; reason: string };

const NO = Buffer.from('N');

export function readClientStartup(socket: net.Socket, initial: Buffer, timeoutMs: number): Promise<StartupOutcome> {
  return new Promise((resolve) => {
    let buf = initial;
    let sslSeen = false;
    let done = false;
    const finish = (o: StartupOutcome) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      resolve(o);
    };
    const fail = (e: PoolerError) => {
      socket.end(errorResponse(e));
      finish({ ok: false, reason: e.detail ? `${e.message}: ${e.detail}` : e.message });
    };
    const step = () => {
      for (;;) {
        const r = readStartupPacket(buf);
        if (r.state === 'incomplete') return;
        if (r.state === 'error') return fail(r.error);
        buf = buf.subarray(r.length);
        const p = r.packet;
        if (p.kind === 'ssl' || p.kind === 'gssenc') {
          if (p.kind === 'ssl' && sslSeen) {
            return fail(new PoolerError('BAD_STARTUP', '08P01', 'invalid startup packet layout', 'FATAL', 'SSLRequest received twice'));
          }
          sslSeen ||= p.kind === 'ssl';
          if (buf.length > 0) {
            // PostgreSQL: data after an encryption request, before its answer, is a protocol violation.
            return fail(new PoolerError('BAD_STARTUP', '08P01', 'received unencrypted data after SSL request', 'FATAL', 'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.'));
          }
          socket.write(NO);
          continue;
        }
        return finish({ ok: true, packet: p, rest: buf });
      }
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      step();
    };
    const onClose = () => finish({ ok: false, reason: 'client closed the connection during start-up' });
    const timer = timeoutMs > 0 ? setTimeout(() => fail(authTimeout()), timeoutMs) : undefined;
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    step();
    if (!done) socket.resume();
  });
}
