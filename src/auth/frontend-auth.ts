// Authenticating a client as pgpool does (docs/behaviour.md#authentication): against
// pool_hba.conf's method and pool_passwd (enable_pool_hba = on), or with the method the
// backend asks for (off); and what pgpool-ts then holds to authenticate to PostgreSQL.
// Messages keep pgpool's text; the detail says which leg failed. No password, hash or
// SCRAM proof is ever put into an error or a log.
import crypto from 'node:crypto';
import type net from 'node:net';
import type tls from 'node:tls';
import type { HbaMethod } from '../config/pool-hba.js';
import type { PoolPasswdEntry } from '../config/pool-passwd.js';
import { AuthCode, FrontendCode } from '../protocol/codes.js';
import { authenticationRequest } from '../protocol/backend-write.js';
import { PoolerError, poolerError } from '../protocol/errors.js';
import type { Message } from '../protocol/message-reader.js';

/** Whole messages from the client, each awaited at most `timeoutMs`. */
export interface MessageSource {
  next(timeoutMs: number): Promise<Message>;
}
import { isMd5Stored, md5Response, md5Stored } from './md5.js';
import { aesDecrypt } from './pool-key.js';
import { cachedVerifier, mockVerifier, ScramError, ScramServer, type ScramVerifier } from './scram-server.js';

/** What pgpool-ts holds for a user: a plain password, or only an md5 hash ("md5…"). */
export type Secret =
  { readonly kind: 'plain'; readonly password: string } | { readonly kind: 'md5'; readonly stored: string };

export type BackendMethod = 'cleartext' | 'md5' | 'scram';

export const authFailed = (what: string, detail: string, hint?: string, logDetail?: string) =>
  poolerError('CLIENT_AUTH', { what, detail, hint, logDetail });

/** An md5 secret no answer matches, to challenge a user pgpool-ts holds no password for. */
const MOCK_MD5: Secret = { kind: 'md5', stored: `md5${crypto.randomBytes(16).toString('hex')}` };

export const backendAuthFailed = (method: BackendMethod, detail: string) =>
  poolerError('BACKEND_AUTH', { method: methodName(method), detail });

const methodName = (m: BackendMethod) => (m === 'scram' ? 'SCRAM' : m === 'md5' ? 'md5' : 'clear text');

/** The password in a pool_passwd entry, as pgpool reads it (docs/behaviour.md#authentication). */
export function entrySecret(entry: PoolPasswdEntry, poolKey: string | undefined, what: string): Secret {
  switch (entry.kind) {
    case 'text':
      return { kind: 'plain', password: entry.secret };
    case 'md5':
      return { kind: 'md5', stored: entry.secret };
    case 'aes': {
      const password = poolKey === undefined ? undefined : aesDecrypt(entry.secret, poolKey);
      if (password === undefined)
        throw authFailed(what, 'unable to decrypt password from pool_passwd', 'verify the valid pool_key exists');
      return { kind: 'plain', password };
    }
    case 'scram':
      throw authFailed(what, `username "${entry.user}" has invalid password type`);
  }
}

/** What a backend connection was opened with (BackendConnection.password) as a Secret. */
function usedSecret(used: string | undefined): Secret | undefined {
  if (used === undefined) return undefined;
  return isMd5Stored(used) ? { kind: 'md5', stored: used } : { kind: 'plain', password: used };
}

/** Whether a typed password is the one `secret` stands for. */
export function typedMatches(secret: Secret, typed: string, user: string): boolean {
  const want = Buffer.from(secret.kind === 'plain' ? secret.password : secret.stored);
  const got = Buffer.from(secret.kind === 'plain' ? typed : md5Stored(typed, user));
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}

/** Peer certificate's CN when the client presented one that verified against ssl_ca_cert. */
function verifiedCommonName(socket: net.Socket): string | undefined {
  const t = socket as tls.TLSSocket;
  if (!t.encrypted || !t.authorized) return undefined;
  const cn = t.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

export interface ClientAuthDeps {
  readonly client: net.Socket;
  readonly stream: MessageSource;
  readonly user: string;
  readonly entry: PoolPasswdEntry | undefined;
  readonly poolKey: string | undefined;
}

/**
 * Reads from the client wait without a limit of their own: authentication_timeout belongs to
 * the session's timer (docs/behaviour.md#startup), which ends the session, and so the read.
 */
const NO_LIMIT = 0;

/** The exchanges with one client during its start-up. */
export class ClientAuthenticator {
  constructor(private readonly d: ClientAuthDeps) {}

  private async readPassword(): Promise<string | undefined> {
    const m = await this.d.stream.next(NO_LIMIT).catch(() => undefined);
    if (!m || m.type !== FrontendCode.Password) return undefined;
    const end = m.body.indexOf(0);
    return m.body.toString('utf8', 0, end < 0 ? m.body.length : end);
  }

  /** R 3: the password the client typed, or undefined when it sent none. */
  async askClearText(): Promise<string | undefined> {
    this.d.client.write(authenticationRequest(AuthCode.CleartextPassword));
    return this.readPassword();
  }

  /** R 5 with a fresh random salt, verified against `secret`. */
  async challengeMd5(secret: Secret): Promise<boolean> {
    const salt = crypto.randomBytes(4);
    this.d.client.write(authenticationRequest(AuthCode.MD5Password, salt));
    const answer = await this.readPassword();
    if (answer === undefined) return false;
    const stored = secret.kind === 'md5' ? secret.stored : md5Stored(secret.password, this.d.user);
    const expected = Buffer.from(md5Response(stored, salt));
    const got = Buffer.from(answer);
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  }

  /** The full SCRAM-SHA-256 server exchange (R 10, 11, 12) against a plain password, or a mock verifier. */
  async challengeScram(password: string | ScramVerifier): Promise<boolean> {
    const { client, stream } = this.d;
    client.write(authenticationRequest(AuthCode.SASL, Buffer.from('SCRAM-SHA-256\0\0')));
    const initial = await stream.next(NO_LIMIT).catch(() => undefined);
    if (!initial || initial.type !== FrontendCode.Password) return false;
    const mechEnd = initial.body.indexOf(0);
    if (mechEnd < 0 || initial.body.toString('utf8', 0, mechEnd) !== 'SCRAM-SHA-256') {
      throw authFailed('client selected an invalid SASL authentication mechanism', 'only SCRAM-SHA-256 is offered');
    }
    const len = initial.body.length >= mechEnd + 5 ? initial.body.readInt32BE(mechEnd + 1) : -1;
    const clientFirst = len < 0 ? '' : initial.body.toString('utf8', mechEnd + 5, mechEnd + 5 + len);
    const server = new ScramServer(typeof password === 'string' ? cachedVerifier(this.d.user, password) : password);
    try {
      client.write(authenticationRequest(AuthCode.SASLContinue, Buffer.from(server.first(clientFirst))));
      const response = await stream.next(NO_LIMIT).catch(() => undefined);
      if (!response || response.type !== FrontendCode.Password) return false;
      const serverFinal = server.final(response.body.toString('utf8'));
      if (serverFinal === undefined) return false;
      client.write(authenticationRequest(AuthCode.SASLFinal, Buffer.from(serverFinal)));
      return true;
    } catch (e) {
      if (e instanceof ScramError) throw authFailed('authentication failed', e.message);
      throw e;
    }
  }

  private secret(what: string): Secret | undefined {
    return this.d.entry ? entrySecret(this.d.entry, this.d.poolKey, what) : undefined;
  }

  /** For methods that do not need pool_passwd: its password when it holds a usable one. */
  private usableSecret(what: string): Secret | undefined {
    return this.d.entry?.kind === 'scram' ? undefined : this.secret(what);
  }

  /**
   * The secret pool_passwd holds for the client, or, as text for the log, why it has none
   * usable: no entry, a SCRAM verifier, or an AES one the key does not open.
   */
  private secretOrWhyNot(what: string): Secret | string {
    const { entry, user } = this.d;
    if (!entry) return `pool_passwd file does not contain an entry for "${user}"`;
    try {
      return entrySecret(entry, this.d.poolKey, what);
    } catch (e) {
      if (!(e instanceof PoolerError)) throw e;
      return e.hint ? `${e.detail}; ${e.hint}` : (e.detail ?? e.message);
    }
  }

  /**
   * enable_pool_hba = on: proves the client by the record's method.
   * Resolves with what pgpool-ts will use towards PostgreSQL (undefined: nothing);
   * `unchecked` is a typed password nothing could check yet (password method, no
   * pool_passwd entry): PostgreSQL checks it on a new connection, checkReuse on a cached one.
   */
  async byHba(method: HbaMethod): Promise<{ held: Secret | undefined; unchecked?: string }> {
    const held = await this.proveByHba(method);
    return held?.kind === 'plain' && method === 'password' && !this.d.entry
      ? { held, unchecked: held.password }
      : { held };
  }

  /** A typed password nobody checked may take a cached connection only if it is the one that connection was made with. */
  checkReuse(unchecked: string, method: BackendMethod | 'trust', used: string | undefined): void {
    if (method === 'trust') return;
    const s = usedSecret(used);
    if (!s || !typedMatches(s, unchecked, this.d.user))
      throw authFailed('clear text authentication failed', 'password does not match');
  }

  private async proveByHba(method: HbaMethod): Promise<Secret | undefined> {
    const user = this.d.user;
    switch (method) {
      case 'trust':
        return this.usableSecret('authentication failed');
      // No user enumeration (docs/behaviour.md#authentication): a user pgpool-ts cannot verify
      // is challenged as a known one and refused as a wrong password; the log says why.
      case 'md5': {
        const what = 'md5 authentication failed';
        const held = this.secretOrWhyNot(what);
        const wrong = (why?: string) => authFailed(what, 'password does not match', undefined, why);
        if (typeof held === 'string') {
          await this.challengeMd5(MOCK_MD5);
          throw wrong(held);
        }
        if (!(await this.challengeMd5(held))) throw wrong();
        return held;
      }
      case 'scram-sha-256': {
        const what = 'SCRAM authentication failed';
        const held = this.secretOrWhyNot(what);
        const wrong = (why?: string) =>
          authFailed(
            'authentication failed',
            `username "${user}" or password does not exist in backend`,
            undefined,
            why,
          );
        if (typeof held === 'string' || held.kind !== 'plain') {
          await this.challengeScram(mockVerifier(user));
          throw wrong(
            typeof held === 'string' ? held : `pool_passwd file does not contain valid SCRAM entry for "${user}"`,
          );
        }
        if (!(await this.challengeScram(held.password))) throw wrong();
        return held;
      }
      case 'password': {
        const what = 'clear text authentication failed';
        const typed = await this.askClearText();
        if (typed === undefined) throw authFailed(what, 'no password received');
        const s = this.secret(what);
        if (!s) return { kind: 'plain', password: typed };
        if (!typedMatches(s, typed, user)) throw authFailed(what, 'password does not match');
        return s;
      }
      case 'cert': {
        const cn = verifiedCommonName(this.d.client);
        if (cn === undefined || cn.toLowerCase() !== user.toLowerCase())
          throw authFailed('CERT authentication failed', 'no valid certificate presented');
        return this.usableSecret('CERT authentication failed');
      }
      case 'pam':
      case 'ldap':
        throw poolerError('AUTH_METHOD_UNSUPPORTED', { method, user });
      case 'reject':
        throw new Error('reject is handled by the caller');
    }
  }

  /**
   * enable_pool_hba = off, new backend connection: PostgreSQL asked for `method`;
   * the client is asked accordingly, and the password for PostgreSQL returned.
   */
  async forBackend(method: BackendMethod, allowClearText: boolean): Promise<string> {
    const user = this.d.user;
    if (method === 'cleartext') {
      const what = 'clear text authentication failed';
      const typed = await this.askClearText();
      if (typed === undefined) throw authFailed(what, 'no password received');
      const s = this.secret(what);
      if (!s) return typed;
      if (!typedMatches(s, typed, user)) throw authFailed(what, 'password does not match');
      if (s.kind !== 'plain')
        throw backendAuthFailed(method, 'valid password not found: pool_passwd holds only an md5 hash');
      return s.password;
    }
    const what = method === 'md5' ? 'md5 authentication failed' : 'SCRAM authentication failed';
    const s = this.d.entry?.kind === 'scram' && method === 'scram' ? undefined : this.secret(what);
    if (s && (s.kind === 'plain' || method === 'md5')) {
      const ok =
        method === 'md5' || s.kind !== 'plain' ? await this.challengeMd5(s) : await this.challengeScram(s.password);
      if (!ok)
        throw method === 'md5'
          ? authFailed(what, 'password does not match')
          : authFailed('authentication failed', `username "${user}" or password does not exist in backend`);
      return s.kind === 'plain' ? s.password : s.stored;
    }
    if (!s && allowClearText) {
      // LOG "using clear text authentication with frontend" in pgpool: the backend still uses its own method.
      const typed = await this.askClearText();
      if (typed === undefined) throw authFailed('clear text authentication failed', 'no password received');
      return typed;
    }
    throw backendAuthFailed(
      method,
      s ? 'valid password not found: pool_passwd holds only an md5 hash' : 'valid password not found',
    );
  }

  /**
   * enable_pool_hba = off, reuse of a cached connection: the client proves what the
   * backend required, against pool_passwd or the password the connection was made with.
   */
  async proveForReuse(method: BackendMethod | 'trust', used: string | undefined): Promise<void> {
    if (method === 'trust') return;
    const user = this.d.user;
    const s = this.secret('authentication failed') ?? usedSecret(used);
    if (!s) throw authFailed('authentication failed', 'no password to verify the client against');
    if (method === 'cleartext') {
      const typed = await this.askClearText();
      if (typed === undefined || !typedMatches(s, typed, user))
        throw authFailed('clear text authentication failed', 'password does not match');
      return;
    }
    if (method === 'scram' && s.kind === 'plain') {
      if (!(await this.challengeScram(s.password)))
        throw authFailed('authentication failed', `username "${user}" or password does not exist in backend`);
      return;
    }
    if (!(await this.challengeMd5(s))) throw authFailed('md5 authentication failed', 'password does not match');
  }
}
