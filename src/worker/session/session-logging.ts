// A session's log lines (docs/behaviour.md#logs): its logger (a child of the worker's when
// PGPOOL SET changed log_min_messages or log_error_verbosity) and the statement and message
// logging tap on its relay, both following PGPOOL SET/RESET and reloads.
import type { ServerConnection } from '../../backend/server-connection.js';
import type { SessionSettings } from '../../config/session-settings.js';
import { sessionLogger, type Logger } from '../../logging/logger.js';
import { BackendMessageLog } from '../relay/backend-message-log.js';
import {
  ClientMessageLog,
  clientGets,
  perNodeStatement,
  type StatementTap,
  type StatementTarget,
} from '../relay/client-message-log.js';
import type { SessionEnv } from './session-env.js';

/** What the message tap is set on: any relay; a routed one says which node each message goes to. */
export interface TappedRelay {
  setTap(tap: StatementTap | undefined): void;
  readonly statementTarget?: StatementTarget;
  /** Writes the pooler's NoticeResponse to the client, in order with the replies relayed to it. */
  clientNotice(b: Buffer): void;
  /** Shows the type of every message the relay's backends send to `log` (undefined: to nobody). */
  setBackendLog(log: BackendMessageLog | undefined): void;
}

export class SessionLogging {
  /** The session's logger now. */
  log: Logger;
  private messageLog: ClientMessageLog | undefined;
  private backendLog: BackendMessageLog | undefined;

  constructor(
    private readonly env: SessionEnv,
    private readonly settings: SessionSettings,
    private readonly user: string,
    private readonly database: string,
    /** Asked only when a line is logged: the address costs a system call. */
    private readonly client: { readonly peer: string },
  ) {
    this.log = env.log;
  }

  /** Lines about this connection name the client and its backend. */
  connectionLog(conn: ServerConnection): Logger {
    return this.log.child({
      user: this.user,
      database: this.database,
      client: this.client.peer,
      backendPid: conn.pid,
    });
  }

  /**
   * The statement log's lines name the session's backend; a relay that says where each
   * message goes (a routed session's two nodes, transaction mode's connection of the
   * moment) names it in the per-node lines' text instead, not in a field bound once.
   */
  private tapLog(relay: TappedRelay, conn: ServerConnection | undefined): Logger {
    return conn && !relay.statementTarget
      ? this.connectionLog(conn)
      : this.log.child({ user: this.user, database: this.database, client: this.client.peer });
  }

  /** log_per_node_statement shows the reset queries too, as pgpool's does: what sees each (undefined: off). */
  resetQueries(conn: ServerConnection): ((query: string, on: ServerConnection) => void) | undefined {
    if (!this.settings.get('log_per_node_statement')) return undefined;
    const log = this.connectionLog(conn);
    return (q, on) => log.info(perNodeStatement(on.address.node, on.pid, q));
  }

  /** Applies the values in effect now to the logger and, while relaying, to the message tap. */
  update(relay: TappedRelay | undefined, conn: ServerConnection | undefined): void {
    const cfg = this.env.config;
    const level = this.settings.get('log_min_messages');
    const verbosity = this.settings.get('log_error_verbosity');
    const ownLog = level !== cfg.log_min_messages || verbosity !== cfg.log_error_verbosity;
    this.log = ownLog ? sessionLogger(this.env.log, level, verbosity) : this.env.log;
    // Transaction mode holds no connection between transactions: the switches follow all the same.
    if (!relay) return;
    const switches = {
      statement: this.settings.get('log_statement'),
      perNodeStatement: this.settings.get('log_per_node_statement'),
      perNodeNotice:
        this.settings.get('notice_per_node_statement') &&
        clientGets('notice', this.settings.get('client_min_messages')),
      clientLog: clientGets('log', this.settings.get('client_min_messages')),
      clientMessages: this.settings.get('log_client_messages'),
    };
    // One logger for both logs, made only when one of them is on.
    let tapLog: Logger | undefined;
    const log = () => (tapLog ??= this.tapLog(relay, conn));
    if (!switches.statement && !switches.perNodeStatement && !switches.perNodeNotice && !switches.clientMessages) {
      if (this.messageLog) relay.setTap(undefined);
      this.messageLog = undefined;
    } else if (this.messageLog) {
      this.messageLog.switches = switches;
      this.messageLog.log = log();
    } else {
      this.messageLog = new ClientMessageLog(
        log(),
        switches,
        relay.statementTarget ?? { node: conn?.address.node ?? 0, pid: conn?.pid ?? 0 },
        (b) => relay.clientNotice(b),
      );
      relay.setTap(this.messageLog);
    }
    this.updateBackendLog(relay, log);
  }

  /** log_backend_messages: the relay shows its backends' message types to the log while it is not `none`. */
  private updateBackendLog(relay: TappedRelay, log: () => Logger): void {
    const mode = this.settings.get('log_backend_messages');
    if (mode === 'none') {
      if (this.backendLog) relay.setBackendLog(undefined);
      this.backendLog = undefined;
    } else if (this.backendLog) {
      this.backendLog.mode = mode;
      this.backendLog.log = log();
    } else {
      this.backendLog = new BackendMessageLog(log(), mode);
      relay.setBackendLog(this.backendLog);
    }
  }
}
