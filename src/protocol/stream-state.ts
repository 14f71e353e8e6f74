// A relayed connection's protocol state, owned by its relay (docs/architecture.md#who-owns-what):
// requests the server still owes a ReadyForQuery for, the last transaction status, an
// unsynced extended-protocol batch, a COPY FROM STDIN in progress. The relay's two scanners
// write it; reset, timing, logging, reports and the cache read it; nobody keeps a copy.
import { BackendScanner, FrontendScanner } from './header-scanner.js';
import { TxStatus } from './tx-status.js';

/** What times requests (relay/request-timing.ts): an object, so a session keeps no closures for it. */
export interface RequestTimer {
  sent(): void;
  ready(status: number): void;
}

export class StreamState {
  /** Requests sent that the server answers with ReadyForQuery (Query, Sync, FunctionCall). */
  requests = 0;
  /** ReadyForQuery messages received. */
  replies = 0;
  /** The last ReadyForQuery's status: TxStatus.Idle, InTransaction or Failed. */
  txStatus: number = TxStatus.Idle;
  /** Extended-protocol messages sent since the last Sync. */
  unsynced = false;
  /** The server waits for CopyData from the client (CopyInResponse seen, no ReadyForQuery since). */
  inCopyIn = false;
  /** The pooler itself is answering one of its commands (SHOW pool_*) for this client. */
  answeringCommand = false;
  /** Told of each request counted and each ReadyForQuery (query timing); unset when nobody times. */
  timer: RequestTimer | undefined;

  private clientScanner: FrontendScanner | undefined;
  private serverScanner: BackendScanner | undefined;

  /** The scanners, made when a relay first scans (transaction mode reads whole messages instead). */
  get client(): FrontendScanner {
    return (this.clientScanner ??= new FrontendScanner(this));
  }

  get server(): BackendScanner {
    return (this.serverScanner ??= new BackendScanner(this));
  }

  requestSent(): void {
    this.requests++;
    this.timer?.sent();
  }

  readyReceived(status: number): void {
    this.txStatus = status;
    this.replies++;
    this.timer?.ready(status);
  }

  /** ReadyForQuery messages the server still owes. */
  get pending(): number {
    return this.requests - this.replies;
  }

  /** A request is being worked on: by PostgreSQL, or by the pooler answering its own command. */
  get executing(): boolean {
    return this.requests !== this.replies || this.answeringCommand;
  }

  /** Inside a transaction block, failed or not. */
  get inTransaction(): boolean {
    return this.txStatus !== TxStatus.Idle;
  }
}
