// Reads a client's start-up: answers SSLRequest with 'S' and runs the TLS handshake when
// ssl = on (else 'N'), GSSENCRequest with 'N', and returns the startup packet and the
// socket to go on with (TLS or not), bounded in size and in time (authentication_timeout).
import type net from 'node:net';
import { errorResponse } from '../../protocol/backend-write.js';
import { readStartupPacket, type StartupPacket } from '../../protocol/frontend-read.js';
import { poolerError, type PoolerError } from '../../protocol/errors.js';
import { acceptClientTls, type ClientTls } from '../../protocol/tls.js';

export type StartupOutcome =
  | { ok: true; packet: Extract<StartupPacket, { kind: 'startup' | 'cancel' }>; rest: Buffer; socket: net.Socket }
  | { ok: false; reason: string; error?: PoolerError };

const NO = Buffer.from('N');
const YES = Buffer.from('S');

export function readClientStartup(
  raw: net.Socket,
  initial: Buffer,
  timeoutMs: number,
  tls?: ClientTls,
): Promise<StartupOutcome> {
  return new Promise((resolve) => {
    let socket = raw;
    let buf = initial;
    let sslSeen = false;
    let done = false;
    const finish = (o: StartupOutcome) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      detach();
      socket.pause();
      resolve(o);
    };
    const fail = (e: PoolerError) => {
      if (e.silent) socket.destroy();
      else socket.end(errorResponse(e));
      finish({ ok: false, reason: e.detail ? `${e.message}: ${e.detail}` : e.message, error: e });
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
            return fail(poolerError('STARTUP_LAYOUT', { detail: 'SSLRequest received twice' }));
          }
          sslSeen ||= p.kind === 'ssl';
          if (buf.length > 0) {
            // PostgreSQL: data after an encryption request, before its answer, is a protocol violation.
            return fail(poolerError('UNENCRYPTED_AFTER_SSL'));
          }
          // Over a unix socket PostgreSQL says 'N' to SSLRequest, and so does pgpool-ts.
          if (p.kind === 'ssl' && tls && socket.remoteAddress !== undefined) return startTls();
          socket.write(NO);
          continue;
        }
        return finish({ ok: true, packet: p, rest: buf, socket });
      }
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      step();
    };
    const onClose = () => finish({ ok: false, reason: 'client closed the connection during start-up' });
    const attach = () => {
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onClose);
    };
    const detach = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
    };
    const startTls = () => {
      detach();
      socket.write(YES);
      acceptClientTls(socket, tls!, timeoutMs).then(
        (secure) => {
          if (done) return secure.destroy();
          socket = secure;
          attach();
          step();
          if (!done) socket.resume();
        },
        (e: Error) => {
          raw.destroy();
          finish({ ok: false, reason: `TLS handshake failed: ${e.message}` });
        },
      );
    };
    const timer = timeoutMs > 0 ? setTimeout(() => fail(poolerError('AUTH_TIMEOUT')), timeoutMs) : undefined;
    attach();
    step();
    if (!done) socket.resume();
  });
}
