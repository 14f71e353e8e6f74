// TLS as pgpool does it with ssl = on: towards clients, a server context from ssl_cert,
// ssl_key and the other ssl_* parameters (an SSLRequest is answered 'S'); towards
// PostgreSQL, TLS when the backend offers it. Relative paths resolve beside pgpool.conf.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import type tls from 'node:tls';
import type { PgpoolConfig } from '../config/schema.js';
import { SSL_REQUEST_CODE } from './codes.js';

// node:tls (about 4 MB per process) is loaded at the first use: a worker with ssl = off never does.
const requireBuiltin = createRequire(import.meta.url);
let tlsModule: typeof tls | undefined;
const tlsApi = (): typeof tls => (tlsModule ??= requireBuiltin('node:tls') as typeof tls);

/** The 8-byte SSLRequest the pooler sends PostgreSQL. */
const SSL_REQUEST = Buffer.from([
  0,
  0,
  0,
  8,
  (SSL_REQUEST_CODE >>> 24) & 0xff,
  (SSL_REQUEST_CODE >>> 16) & 0xff,
  (SSL_REQUEST_CODE >>> 8) & 0xff,
  SSL_REQUEST_CODE & 0xff,
]);

/**
 * The client-facing TLS of one configuration: a tls.Server that never listens and is
 * handed each socket answered 'S'. Its connection path is the one that sets
 * `authorized` (the client certificate verified against the CA), which cert
 * authentication needs; a bare TLSSocket does not.
 */
export interface ClientTls {
  readonly server: tls.Server;
  /** Handshakes under way, by the peer's address and port. */
  readonly pending: Map<string, { resolve: (s: tls.TLSSocket) => void; reject: (e: Error) => void }>;
}

const peerKey = (s: net.Socket) => `${s.remoteAddress}:${s.remotePort}`;

/** The passphrase ssl_passphrase_command prints (first line), %p being a prompt as in PostgreSQL. */
function passphrase(command: string): string {
  const cmd = command.replace(/%p/g, "'Enter PEM pass phrase:'").replace(/%%/g, '%');
  return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).split('\n')[0];
}

/** Builds the client-facing context; throws with the parameter and file named when something is wrong. */
export function clientTls(cfg: PgpoolConfig, configDir: string): ClientTls {
  const file = (param: string, value: string) => {
    const p = path.resolve(configDir, value);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      throw new Error(`${param}: could not read "${p}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        cause: e,
      });
    }
  };
  if (cfg.ssl_cert === '' || cfg.ssl_key === '') throw new Error('ssl = on needs ssl_cert and ssl_key');
  const ca: Buffer[] = [];
  if (cfg.ssl_ca_cert !== '') ca.push(file('ssl_ca_cert', cfg.ssl_ca_cert));
  if (cfg.ssl_ca_cert_dir !== '') {
    const dir = path.resolve(configDir, cfg.ssl_ca_cert_dir);
    for (const f of fs.readdirSync(dir).sort())
      if (/\.(pem|crt)$/i.test(f)) ca.push(file('ssl_ca_cert_dir', path.join(dir, f)));
  }
  const options: tls.SecureContextOptions = {
    cert: file('ssl_cert', cfg.ssl_cert),
    key: file('ssl_key', cfg.ssl_key),
    ca: ca.length > 0 ? ca : undefined,
    crl: cfg.ssl_crl_file !== '' ? file('ssl_crl_file', cfg.ssl_crl_file) : undefined,
    ciphers: cfg.ssl_ciphers || undefined,
    honorCipherOrder: cfg.ssl_prefer_server_ciphers,
    ecdhCurve: cfg.ssl_ecdh_curve || undefined,
    dhparam: cfg.ssl_dh_params_file !== '' ? file('ssl_dh_params_file', cfg.ssl_dh_params_file) : undefined,
    passphrase: cfg.ssl_passphrase_command !== '' ? passphrase(cfg.ssl_passphrase_command) : undefined,
    minVersion: 'TLSv1.2',
  };
  let server: tls.Server;
  try {
    server = tlsApi().createServer({ ...options, requestCert: ca.length > 0, rejectUnauthorized: false });
  } catch (e) {
    throw new Error(`ssl_cert/ssl_key: ${(e as Error).message}`, { cause: e });
  }
  const pending: ClientTls['pending'] = new Map();
  const settle = (s: tls.TLSSocket, e?: Error) => {
    const k = peerKey(s);
    const p = pending.get(k);
    if (!p) return;
    pending.delete(k);
    if (e) p.reject(e);
    else p.resolve(s);
  };
  server.on('secureConnection', (s: tls.TLSSocket) => settle(s));
  server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => settle(s, e));
  return { server, pending };
}

/** Runs the server side of the handshake on a TCP client socket that was answered 'S'. */
export function acceptClientTls(socket: net.Socket, t: ClientTls, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const key = peerKey(socket);
    const timer = timeoutMs > 0 ? setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs) : undefined;
    const onClose = () => fail(new Error('client closed the connection during the TLS handshake'));
    const fail = (e: Error) => {
      if (timer) clearTimeout(timer);
      t.pending.delete(key);
      socket.destroy();
      reject(e);
    };
    t.pending.set(key, {
      resolve: (s) => {
        if (timer) clearTimeout(timer);
        socket.off('close', onClose);
        resolve(s);
      },
      reject: fail,
    });
    socket.once('close', onClose);
    t.server.emit('connection', socket);
  });
}

/**
 * pgpool with ssl = on asks the backend for TLS and uses it when offered ('S'), plain
 * otherwise ('N'). The backend's certificate is not verified, as pgpool does not.
 */
export function backendTls(socket: net.Socket, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timer =
      timeoutMs > 0 ? setTimeout(() => socket.destroy(new Error('no answer to SSLRequest')), timeoutMs) : undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      socket.off('error', onError);
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    socket.once('error', onError);
    const onAnswer = (chunk: Buffer) => {
      socket.off('data', onAnswer);
      socket.pause();
      // Nothing may follow the one-byte answer before the handshake (CVE-2021-23222).
      if (chunk.length !== 1) return onError(new Error('received unencrypted data after SSL request'));
      if (chunk[0] !== 0x53) {
        done();
        resolve(socket); // 'N': this backend has no TLS; carry on in the clear
        return;
      }
      const secure = tlsApi().connect({ socket, rejectUnauthorized: false });
      secure.once('secureConnect', () => {
        done();
        secure.off('error', onError);
        resolve(secure);
      });
      secure.once('error', onError);
    };
    socket.on('data', onAnswer);
    socket.resume();
    socket.write(SSL_REQUEST);
  });
}
