// A client accepted in transaction pooling mode (docs/transaction-pooling.md): it takes no
// child until its start-up needs a backend connection, and then only for as long as each
// transaction runs. This worker admits its share of max_client_conn; beyond it the client goes
// to the supervisor, which places it on a worker with room or refuses it with 53300.
import type net from 'node:net';
import { durationMs } from '../../config/accessors.js';
import { clientShare } from '../../policy/admission.js';
import { refuseBeyondMaxClientConn } from '../../protocol/client-refusal.js';
import { stopReading } from '../../protocol/socket-handoff.js';
import type { FromWorker } from '../../ipc/messages.js';
import type { Child } from '../child.js';
import type { Children } from '../children.js';
import { logConnection, takeClientSocket } from '../accept.js';
import type { SessionEnv } from '../session/session-env.js';
import { Session, type SessionHost, type SessionResult, type EndedSession, type Startup } from '../session/session.js';
import type { TxSessionHost } from '../session/tx-session.js';
import type { TxClients } from './tx-clients.js';
import type { StatementNames } from './tx-messages.js';
import { TxLogin, type TxPool } from './tx-pool.js';

export interface TxAcceptDeps {
  readonly children: Children;
  readonly clients: TxClients;
  readonly pool: TxPool;
  readonly names: StatementNames;
  readonly env: SessionEnv;
  /** This worker's index and worker_processes: it admits its share of max_client_conn (policy/admission.ts). */
  readonly worker: number;
  readonly workers: number;
  /** A client this worker accepted beyond its share: to the supervisor, for a worker with room (or 53300). */
  handBack(connId: number, socket: net.Socket, initialBase64: string): void;
  send(m: FromWorker): void;
  cancel(pid: number, keyHex: string): void;
  ended(result: EndedSession, session: Session, child: number): void;
}

export function acceptTransactionClient(connId: number, socket: net.Socket, initial: Buffer, d: TxAcceptDeps): void {
  const { env, clients } = d;
  if (!takeClientSocket(connId, socket, d.children, d.send)) return;
  // Its share, whoever accepted it; beyond it, the supervisor looks for room in another.
  if (clients.size >= clientShare(d.worker, d.workers, env.config.max_client_conn)) {
    // Every byte read so far travels with the socket (protocol/socket-handoff.ts).
    if (d.workers > 1)
      return d.handBack(connId, socket, Buffer.concat([initial, stopReading(socket)]).toString('base64'));
    refuseBeyondMaxClientConn(socket, clients.size, env.log);
    d.send({ t: 'clientLost', connId });
    return;
  }
  const timeoutMs = durationMs(env.config, 'authentication_timeout');
  const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
  const host = new TxClientHost(connId, socket, d);
  const session = (host.session = new Session(socket, initial, host, env, deadline));
  clients.add(session);
  void session.run().then((result) => {
    // 'relaying': the session tells host.over() itself at its end.
    if (result.end !== 'relaying') host.over(result);
  });
}

/**
 * The session's host and its transactions' (one object, its methods shared by every
 * client): the child it holds while a transaction runs, and its login.
 */
class TxClientHost implements SessionHost, TxSessionHost {
  session!: Session;
  readonly login: TxLogin;
  readonly pool: TxPool;
  readonly names: StatementNames;
  readonly cancel: SessionHost['cancel'];
  private child: Child | undefined;

  constructor(
    private readonly connId: number,
    private readonly socket: net.Socket,
    private readonly d: TxAcceptDeps,
  ) {
    this.login = new TxLogin(d.pool);
    this.pool = d.pool;
    this.names = d.names;
    this.cancel = d.cancel;
  }

  get transactions(): TxSessionHost {
    return this;
  }

  placed(_session: Session, startup: Startup): TxLogin | undefined {
    const env = this.d.env;
    if (this.d.children.stopMode) return undefined;
    if (env.config.log_connections) void logConnection(env, undefined, startup.user, startup.database, this.socket);
    this.login.place(startup.version, startup.params);
    return this.login;
  }

  async enter(): Promise<void> {
    const cfg = this.d.env.config;
    this.child = await this.d.clients.enter(
      this.session,
      this.connId,
      durationMs(cfg, 'query_wait_timeout'),
      cfg.query_wait_timeout,
    );
  }

  enterNow(): boolean {
    this.child ??= this.d.clients.enterNow(this.session, this.connId);
    return this.child !== undefined;
  }

  leave(): void {
    const c = this.child;
    this.child = undefined;
    if (c) this.d.clients.leave(c);
  }

  over(result: Exclude<SessionResult, { end: 'relaying' }>): void {
    const clients = this.d.clients;
    clients.remove(this.session);
    clients.abandon(this.session, new Error('session ended'));
    this.leave();
    if (result.end !== 'no-session') this.d.ended(result, this.session, -1);
  }
}
