// Opening a connection to PostgreSQL: the socket (TLS when ssl = on and offered), the
// startup packet, authentication with what the password source supplies (md5, SCRAM,
// clear text), and what PostgreSQL reports until its first ReadyForQuery.
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import { isMd5Stored, md5Response, md5Stored } from '../auth/md5.js';
import { ScramClient } from '../auth/scram-client.js';
import { AuthCode, BackendCode } from '../protocol/codes.js';
import { PoolerError } from '../protocol/errors.js';
import { cstrings, errorFields, type Message } from '../protocol/message-reader.js';
import { MessageStream } from '../protocol/message-stream.js';
import { backendTls } from '../protocol/tls.js';
import { connectSocket, isSocketDirectory, type BackendAddress } from './address.js';
import { BackendConnectError, BackendRefusedError } from './errors.js';
import { ServerConnection, type AuthMethod } from './server-connection.js';

/** Supplies the password PostgreSQL asks for; undefined when none can be had. */
export type PasswordSource = (method: Exclude<AuthMethod, 'trust'>) => Promise<string | undefined>;

/** How long a TLS handshake with PostgreSQL may take when connect_timeout is 0. */
const DEFAULT_TLS_TIMEOUT_MS = 10_000;
/** How long each start-up reply may take when connect_timeout is 0. */
const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

/**
 * A connection in state `leased` (to the caller), and the bytes PostgreSQL sent after its
 * ReadyForQuery (none, normally). Throws BackendRefusedError, BackendConnectError, or the
 * PoolerError the password source threw.
 */
export async function openServerConnection(
  address: BackendAddress,
  startupKey: Buffer,
  user: string,
  database: string,
  getPassword: PasswordSource,
): Promise<{ conn: ServerConnection; extra: Buffer }> {
  let socket: net.Socket;
  try {
    socket = await connectSocket(address, address.connectTimeoutMs);
    if (address.ssl && !isSocketDirectory(address.host))
      socket = await backendTls(socket, address.connectTimeoutMs || DEFAULT_TLS_TIMEOUT_MS);
  } catch (e) {
    throw new BackendConnectError((e as Error).message, 'unreachable');
  }
  const conn = new ServerConnection(socket, address, startupKey, user, database);
  const stream = new MessageStream(socket);
  const timeout = address.connectTimeoutMs > 0 ? address.connectTimeoutMs * 3 : DEFAULT_STARTUP_TIMEOUT_MS;
  try {
    socket.write(startupKey);
    let scram: ScramClient | undefined;
    for (;;) {
      const m = await stream.next(timeout);
      switch (m.type) {
        case BackendCode.Authentication:
          scram = await authStep(conn, m, getPassword, scram);
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
          conn.transition('leased');
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
    conn.transition('closed');
    // Our own errors (and the client-side ones the password source throws) pass unchanged;
    // anything else here is the connection to PostgreSQL failing.
    if (e instanceof BackendRefusedError || e instanceof BackendConnectError || e instanceof PoolerError) throw e;
    throw new BackendConnectError((e as Error).message, 'unreachable');
  }
}

async function authStep(
  conn: ServerConnection,
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
    conn.authMethod = method;
    conn.password = pw;
    return pw;
  };
  const socket = conn.socket;
  switch (code) {
    case AuthCode.Ok:
      return scram;
    case AuthCode.CleartextPassword:
      socket.write(serialize.password(await need('cleartext')));
      return scram;
    case AuthCode.MD5Password: {
      const pw = await need('md5');
      const stored = isMd5Stored(pw) ? pw : md5Stored(pw, conn.user);
      socket.write(serialize.password(md5Response(stored, m.body.subarray(4, 8))));
      return scram;
    }
    case AuthCode.SASL: {
      const mechanisms = cstrings(m.body, 4).filter((s) => s !== '');
      if (!mechanisms.includes('SCRAM-SHA-256'))
        throw new BackendConnectError(`backend offers no supported SASL mechanism (${mechanisms.join(', ')})`, 'auth');
      const client = new ScramClient(await need('scram'));
      socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', client.first()));
      return client;
    }
    case AuthCode.SASLContinue:
      if (!scram) throw new BackendConnectError('unexpected SASLContinue', 'protocol');
      socket.write(serialize.sendSCRAMClientFinalMessage(scram.final(m.body.toString('utf8', 4))));
      return scram;
    case AuthCode.SASLFinal:
      if (!scram?.verify(m.body.toString('utf8', 4)))
        throw new BackendConnectError('SCRAM server signature does not match', 'auth');
      return undefined;
    default:
      throw new BackendConnectError(`backend requests an unsupported authentication method (code ${code})`, 'auth');
  }
}
