// A client accepted in transaction pooling mode (docs/transaction-pooling.md): it takes no
// child until its start-up needs a backend connection, and then only for as long as each
// transaction runs. This worker admits its share of max_client_conn; beyond it, 53300.
import type net from 'node:net';
import { durationMs } from '../../config/accessors.js';
import type { FromWorker } from '../../ipc/messages.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { poolerError } from '../../protocol/errors.js';
import type { Child } from '../child.js';
import type { Children } from '../children.js';
import { logConnection, takeClientSocket } from '../accept.js';
import type { SessionEnv } from '../session/session-env.js';
import { Session, type SessionHost, type SessionResult } from '../session/session.js';
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
  /** This worker's share of max_client_conn. */
  readonly share: number;
  send(m: FromWorker): void;
  cancel(pid: number, keyHex: string): void;
  ended(result: Exclude<SessionResult, { end: 'no-session' }>, session: Session, child: number): void;
}

export function acceptTransactionClient(connId: number, socket: net.Socket, initial: Buffer, d: TxAcceptDeps): void {
  const { env, clients } = d;
  if (!takeClientSocket(connId, socket, d.children, d.send)) return;
  if (clients.size >= d.share) {
    const e = poolerError('MAX_CLIENT_CONN', { clients: clients.size });
    env.log.info({ limit: e.limit, clients: clients.size }, e.message);
    socket.end(errorResponse(e));
    d.send({ t: 'clientLost', connId });
    return;
  }
  const timeoutMs = durationMs(env.config, 'authentication_timeout');
  const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
  let child: Child | undefined;
  const login = new TxLogin(d.pool);
  const tx: TxSessionHost = {
    login,
    pool: d.pool,
    names: d.names,
    enter: async () => {
      const cfg = env.config;
      child = await clients.enter(session, connId, durationMs(cfg, 'query_wait_timeout'), cfg.query_wait_timeout);
    },
    enterNow: () => {
      child ??= clients.enterNow(session, connId);
      return child !== undefined;
    },
    leave: () => {
      const c = child;
      child = undefined;
      if (c) clients.leave(c);
    },
  };
  const host: SessionHost = {
    placed: (_session, startup) => {
      if (d.children.stopMode) return undefined;
      if (env.config.log_connections) void logConnection(env, undefined, startup.user, startup.database, socket);
      login.place(startup.version, startup.params);
      return login;
    },
    cancel: d.cancel,
    transactions: tx,
  };
  const session: Session = new Session(socket, initial, host, env, deadline);
  clients.sessions.add(session);
  void session.run().then((result) => {
    clients.sessions.delete(session);
    clients.abandon(session, new Error('session ended'));
    tx.leave();
    if (result.end !== 'no-session') d.ended(result, session, -1);
  });
}
