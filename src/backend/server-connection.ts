// One connection from the pooler to PostgreSQL: opening and authenticating it, what it
// reported at start-up (kept to replay to the next client on reuse), the reset between
// clients, and watching it while it sits in a cache.
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { serialize } from 'pg-protocol';
import { isMd5Stored, md5Response, md5Stored } from '../auth/md5.js';
import { ScramClient } from '../auth/scram-client.js';
import { AuthCode, BackendCode } from '../protocol/codes.js';
import { cstrings, errorFields, type Message } from '../protocol/message-reader.js';
import { parameterStatus } from '../protocol/backend-write.js';
import { MessageStream } from '../protocol/message-stream.js';
import { backendTls } from '../protocol/tls.js';
import { PoolerError } from '../protocol/errors.js';

export interface BackendTarget {
  readonly node: number;
  /** Host name, IP address, or a directory holding PostgreSQL's unix socket. */
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** ssl = on: ask PostgreSQL for TLS (TCP only) and use it when offered. */
  readonly ssl?: boolean;
}

export type AuthMethod = 'trust' | 'cleartext' | 'md5' | 'scram';
/** Supplies the password PostgreSQL asks for; undefined when none can be had. */
export type PasswordSource = (method: Exclude<AuthMethod, 'trust'>) => Promise<string | undefined>;

/** PostgreSQL refused the start-up; `raw` is its ErrorResponse, to relay byte for byte. */
export class BackendRefusedError extends Error {
  constructor(
    readonly raw: Buffer,
    readonly fields: Map<string, string>,
  ) {
    super(fields.get('M') ?? 'backend refused the connection');
  }
}

/** The pooler could not complete the start-up itself (unreachable, no password, bad reply). */
export class BackendConnectError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'auth' | 'protocol',
  ) {
    super(message);
  }
}

export function describeTarget(t: BackendTarget): string {
  return t.host.startsWith('/') ? socketPath(t) : `${t.host}:${t.port}`;
}

function socketPath(t: BackendTarget): string {
  return path.join(t.host, `.s.PGSQL.${t.port}`);
}

export function connectSocket(t: BackendTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = t.host.startsWith('/') ? net.connect(socketPath(t)) : net.connect({ host: t.host, port: t.port });
    const timer =
      t.connectTimeoutMs > 0
        ? setTimeout(() => socket.destroy(new Error(`timeout after ${t.connectTimeoutMs} ms`)), t.connectTimeoutMs)
        : undefined;
    socket.once('connect', () => {
      if (timer) clearTimeout(timer);
      socket.off('error', reject);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      resolve(socket);
    });
    socket.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
  });
}

export class BackendConnection {
  pid = 0;
  secret: Buffer = Buffer.alloc(0);
  /** ParameterStatus values, in the order PostgreSQL first reported them (setParam changes them). */
  private readonly paramValues = new Map<string, string>();
  /** paramValues as ParameterStatus messages, built once for every client greeted until a value changes. */
  private statusMessages: Buffer | undefined;
  /** NegotiateProtocolVersion from PostgreSQL, replayed to clients that reuse this connection. */
  negotiate: Buffer | undefined;
  txStatus = 0x49;
  authMethod: AuthMethod = 'trust';
  /** Password used at start-up, kept so a later client can be checked against it. */
  password: string | undefined;
  readonly createdAt = Date.now();
  /** When it last went back into a cache (ms). */
  releasedAt = 0;
  /** Times handed to a client. */
  timesUsed = 0;
  dead = false;
  private watcher: (() => void) | undefined;

  private constructor(
    readonly socket: net.Socket,
    readonly target: BackendTarget,
    /** Sorted startup packet: what PostgreSQL got, and the cache key. */
    readonly startupKey: Buffer,
    readonly user: string,
    readonly database: string,
  ) {
    socket.on('close', () => {
      this.dead = true;
    });
  }

  setParam(name: string, value: string): void {
    this.paramValues.set(name, value);
    this.statusMessages = undefined;
  }

  /** One ParameterStatus message per parameter, for greeting a client. */
  parameterStatuses(): Buffer {
    return (this.statusMessages ??= Buffer.concat([...this.paramValues].map(([k, v]) => parameterStatus(k, v))));
  }

  static async open(
    target: BackendTarget,
    startupKey: Buffer,
    user: string,
    database: string,
    getPassword: PasswordSource,
  ): Promise<{ conn: BackendConnection; extra: Buffer }> {
    let socket: net.Socket;
    try {
      socket = await connectSocket(target);
      if (target.ssl && !target.host.startsWith('/'))
        socket = await backendTls(socket, target.connectTimeoutMs || 10_000);
    } catch (e) {
      throw new BackendConnectError((e as Error).message, 'unreachable');
    }
    const conn = new BackendConnection(socket, target, startupKey, user, database);
    const stream = new MessageStream(socket);
    const timeout = target.connectTimeoutMs > 0 ? target.connectTimeoutMs * 3 : 60_000;
    try {
      socket.write(startupKey);
      let scram: ScramClient | undefined;
      for (;;) {
        const m = await stream.next(timeout);
        switch (m.type) {
          case BackendCode.Authentication:
            scram = await conn.authStep(m, getPassword, scram);
            break;
          case BackendCode.NegotiateProtocolVersion:
            conn.negotiate = Buffer.from(m.raw);
            break;
          case BackendCode.ParameterStatus: {
            const [name, value] = cstrings(m.body);
            conn.setParam(name, value);
            break;
          }
          case BackendCode.BackendKeyData:
            conn.pid = m.body.readInt32BE(0);
            conn.secret = Buffer.from(m.body.subarray(4));
            break;
          case BackendCode.ErrorResponse:
            throw new BackendRefusedError(Buffer.from(m.raw), errorFields(m.body));
          case BackendCode.NoticeResponse:
            break;
          case BackendCode.ReadyForQuery:
            conn.txStatus = m.body[0];
            return { conn, extra: stream.detach() };
          default:
            throw new BackendConnectError(
              `backend response with kind '${String.fromCharCode(m.type)}' during start-up`,
              'protocol',
            );
        }
      }
    } catch (e) {
      stream.detach();
      socket.destroy();
      // Our own errors (and the client-side ones the password source throws) pass unchanged;
      // anything else here is the connection to PostgreSQL failing.
      if (e instanceof BackendRefusedError || e instanceof BackendConnectError || e instanceof PoolerError) throw e;
      throw new BackendConnectError((e as Error).message, 'unreachable');
    }
  }

  private async authStep(
    m: Message,
    getPassword: PasswordSource,
    scram: ScramClient | undefined,
  ): Promise<ScramClient | undefined> {
    const code = m.body.readInt32BE(0);
    const need = async (method: Exclude<AuthMethod, 'trust'>) => {
      const pw = await getPassword(method);
      if (pw === undefined)
        throw new BackendConnectError(
          `backend requires ${method === 'cleartext' ? 'password' : method} authentication and no password is available`,
          'auth',
        );
      this.authMethod = method;
      this.password = pw;
      return pw;
    };
    switch (code) {
      case AuthCode.Ok:
        return scram;
      case AuthCode.CleartextPassword:
        this.socket.write(serialize.password(await need('cleartext')));
        return scram;
      case AuthCode.MD5Password: {
        const pw = await need('md5');
        const stored = isMd5Stored(pw) ? pw : md5Stored(pw, this.user);
        this.socket.write(serialize.password(md5Response(stored, m.body.subarray(4, 8))));
        return scram;
      }
      case AuthCode.SASL: {
        const mechanisms = cstrings(m.body, 4).filter((s) => s !== '');
        if (!mechanisms.includes('SCRAM-SHA-256'))
          throw new BackendConnectError(
            `backend offers no supported SASL mechanism (${mechanisms.join(', ')})`,
            'auth',
          );
        const client = new ScramClient(await need('scram'));
        this.socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', client.first()));
        return client;
      }
      case AuthCode.SASLContinue:
        if (!scram) throw new BackendConnectError('unexpected SASLContinue', 'protocol');
        this.socket.write(serialize.sendSCRAMClientFinalMessage(scram.final(m.body.toString('utf8', 4))));
        return scram;
      case AuthCode.SASLFinal:
        if (!scram?.verify(m.body.toString('utf8', 4)))
          throw new BackendConnectError('SCRAM server signature does not match', 'auth');
        return undefined;
      default:
        throw new BackendConnectError(`backend requests an unsupported authentication method (code ${code})`, 'auth');
    }
  }

  /**
   * Discards what the server still sends for requests a departed client made, until
   * `readyRequests` ReadyForQuery messages have arrived in all. Then runs the reset
   * queries. True when the connection is clean and idle afterwards.
   */
  /** `sending` sees each reset query as it goes (log_per_node_statement). */
  async reset(
    queries: readonly string[],
    pendingReady: number,
    sendSync: boolean,
    inCopyIn: boolean,
    timeoutMs: number,
    sending?: (query: string) => void,
  ): Promise<boolean> {
    if (this.dead) return false;
    const stream = new MessageStream(this.socket);
    try {
      // The client left in the middle of COPY FROM STDIN: end it, PostgreSQL answers with an error and ReadyForQuery.
      if (inCopyIn) this.socket.write(serialize.copyFail('client disconnected during COPY'));
      if (sendSync) {
        this.socket.write(serialize.sync());
        pendingReady++;
      }
      while (pendingReady > 0) {
        const m = await stream.next(timeoutMs);
        if (m.type === BackendCode.ReadyForQuery) {
          pendingReady--;
          this.txStatus = m.body[0];
        } else if (m.type === BackendCode.CopyInResponse) {
          this.socket.write(serialize.copyFail('client disconnected during COPY'));
        }
      }
      for (const q of queries) {
        // pgpool skips an ABORT entry when the connection is not in a transaction.
        if (q.toUpperCase() === 'ABORT' && this.txStatus === 0x49) continue;
        sending?.(q);
        this.socket.write(serialize.query(q));
        let failed = false;
        for (;;) {
          const m = await stream.next(timeoutMs);
          if (m.type === BackendCode.ErrorResponse) failed = true;
          else if (m.type === BackendCode.ParameterStatus) {
            const [name, value] = cstrings(m.body);
            this.setParam(name, value);
          } else if (m.type === BackendCode.ReadyForQuery) {
            this.txStatus = m.body[0];
            break;
          }
        }
        if (failed) return false;
      }
      return this.txStatus === 0x49 && !this.dead;
    } catch {
      return false;
    } finally {
      const rest = stream.detach();
      if (rest.length > 0) this.dead = true; // unsolicited bytes: do not trust it
    }
  }

  /** Runs one simple query the pooler needs for itself; the rows as text (NULL as null). */
  async query(sql: string, timeoutMs: number): Promise<Array<Array<string | null>>> {
    const stream = new MessageStream(this.socket);
    const rows: Array<Array<string | null>> = [];
    let error: string | undefined;
    try {
      this.socket.write(serialize.query(sql));
      for (;;) {
        const m = await stream.next(timeoutMs);
        if (m.type === 0x44 /* D DataRow */) {
          const n = m.body.readInt16BE(0);
          const row: Array<string | null> = [];
          let i = 2;
          for (let c = 0; c < n; c++) {
            const len = m.body.readInt32BE(i);
            i += 4;
            row.push(len < 0 ? null : m.body.toString('utf8', i, i + len));
            if (len > 0) i += len;
          }
          rows.push(row);
        } else if (m.type === BackendCode.ErrorResponse) error = errorFields(m.body).get('M');
        else if (m.type === BackendCode.ReadyForQuery) break;
      }
    } finally {
      stream.detach();
    }
    if (error !== undefined) throw new Error(error);
    return rows;
  }

  /** While cached: any byte or close from PostgreSQL (e.g. its shutdown FATAL) marks it dead. */
  watch(onDead: () => void): void {
    this.watcher = () => {
      this.dead = true;
      onDead();
    };
    this.socket.on('data', this.watcher);
    this.socket.on('close', this.watcher);
    this.socket.on('error', this.watcher);
    this.socket.resume();
  }

  unwatch(): void {
    if (!this.watcher) return;
    this.socket.off('data', this.watcher);
    this.socket.off('close', this.watcher);
    this.socket.off('error', this.watcher);
    this.watcher = undefined;
  }

  /** Sends Terminate and closes. */
  close(): void {
    this.unwatch();
    this.dead = true;
    if (!this.socket.destroyed) {
      this.socket.on('error', () => {});
      this.socket.end(serialize.end());
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
  }
}

// Cancel keys come from a pool refilled 4 KB at a time: one CSPRNG call per ~1000
// sessions instead of one per session (it showed in the connection-churn profile).
const keyPool = Buffer.alloc(4096);
let keyPoolAt = keyPool.length;

export function randomCancelKey(length: number): Buffer {
  if (keyPoolAt + length > keyPool.length) {
    crypto.randomFillSync(keyPool);
    keyPoolAt = 0;
  }
  const key = Buffer.from(keyPool.subarray(keyPoolAt, keyPoolAt + length));
  keyPoolAt += length;
  return key;
}
