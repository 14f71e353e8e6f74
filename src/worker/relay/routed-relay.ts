// A session over two nodes (docs/architecture.md#routing, docs/behaviour.md#routing): the
// primary and the session's load-balance node. Unlike the one-node relay it reads whole
// client messages and serves one request cycle at a time — a Query, or extended-protocol
// messages up to Sync — sending each to the node(s) its statements route to, forwarding
// that node's replies and writing the ReadyForQuery itself, so the client sees one server.
import type net from 'node:net';
import { mayBePoolerCommand } from '../../admin/pooler-command.js';
import type { ServerConnection } from '../../backend/server-connection.js';
import { errorResponse, readyFor } from '../../protocol/backend-write.js';
import { BackendCode, FrontendCode } from '../../protocol/codes.js';
import { poolerError } from '../../protocol/errors.js';
import { querySql } from '../../protocol/frontend-messages.js';
import type { Message } from '../../protocol/message-reader.js';
import type { Destination } from '../../policy/route-decision.js';
import { StreamState } from '../../protocol/stream-state.js';
import type { StatementCounts } from '../../admin/statement-counts.js';
import type { PreparedStatements } from '../routing/prepared-statements.js';
import type { Classified } from '../routing/classifier.js';
import type { CycleRoute, RoutedStatement, SessionRouter } from '../routing/session-router.js';
import type { BackendMessageLog } from './backend-message-log.js';
import { showWhole, type ShownAs, type StatementTap, type StatementTarget } from './client-message-log.js';
import type { BackendGone, PoolerCommandHook, RelayEnd } from './relay.js';
import type { RequestTiming } from './request-timing.js';
import { RoutedInbox } from './routed-inbox.js';
import { BatchedWriter, forStandby, Leg, LegGoneError, placeStatement } from './routed-leg.js';
import { OneNodeCycle, PENDING, type Step, type StepEnd } from './routed-one-node.js';
import { BothNodes } from './routed-both.js';
import { SqlPrepared } from './sql-prepared.js';
import { Ended, isCopy, isExtendedOrSync, RoutedCounts, staysOnStandby } from './routed-cycle.js';

export interface RoutedRelayParts {
  readonly client: net.Socket;
  readonly primary: ServerConnection;
  readonly standby: ServerConnection;
  readonly router: SessionRouter;
  readonly prepared: PreparedStatements;
  readonly poolerCommand: PoolerCommandHook;
  readonly onEnd: (end: RelayEnd) => void;
  readonly timing: RequestTiming;
  /** A cycle was served by `node` (metrics). */
  readonly served: (node: number) => void;
  /** Statements sent and errors read, per node (pool_backend_stats). */
  readonly counts: StatementCounts;
  /** A node said it shuts down (57P01/57P02). */
  readonly shutdown: (node: number) => void;
}

export class RoutedRelay {
  /** The session's protocol state as the client sees it (reports, idle limit, timing). */
  readonly stream = new StreamState();
  lastActivity = performance.now();
  bytesFromClient = 0;
  bytesToClient = 0;
  private readonly inbox = new RoutedInbox(
    (m) => this.openCycleTakes(m),
    (first) => this.cycle(first),
    (e) => this.cycleFailed(e),
  );
  private ended = false;
  private readonly one: OneNodeCycle;
  private readonly primary: Leg;
  private readonly standby: Leg;
  private tap: StatementTap | undefined;
  private readonly target: StatementTarget;
  private readonly sqlPrepared: SqlPrepared;
  private readonly clientWriter: BatchedWriter;
  private readonly counts: RoutedCounts;
  private readonly twoNodes: BothNodes;

  constructor(private readonly p: RoutedRelayParts) {
    const lost = (end: BackendGone) => this.finish(end);
    this.clientWriter = new BatchedWriter(p.client);
    // Between requests an ErrorResponse is PostgreSQL ending the connection (57P01 at a shutdown, say).
    const idleError = (node: number, m: Message) => {
      if (m.type === BackendCode.ErrorResponse) this.counts.error(node, m);
    };
    this.primary = new Leg(
      p.primary,
      (m) => {
        idleError(p.primary.address.node, m);
        if (!this.ended) this.toClient(m.raw);
      },
      lost,
    );
    // The standby's own notices between requests are not the client's (its notifications cannot be: LISTEN runs on the primary).
    this.standby = new Leg(p.standby, (m) => idleError(p.standby.address.node, m), lost);
    this.target = { node: this.primary.node, pid: p.primary.pid };
    this.stream.timer = p.timing;
    this.sqlPrepared = new SqlPrepared(this.primary, this.standby, p.router);
    this.counts = new RoutedCounts(p.counts, p.prepared, p.shutdown);
    this.twoNodes = new BothNodes({
      primary: this.primary,
      standby: this.standby,
      counts: this.counts,
      router: p.router,
      prepared: p.prepared,
      sqlPrepared: this.sqlPrepared,
      served: p.served,
      send: (leg, m, also) => this.send(leg, m, also),
      toClient: this.toClient,
      single: (leg, messages, statements) => this.single(leg, messages, statements),
      ready: (fromNode) => this.ready(fromNode),
      classify: this.classify,
    });
    this.one = new OneNodeCycle({
      primary: this.primary,
      standby: this.standby,
      counts: this.counts,
      router: p.router,
      served: p.served,
      send: (leg, m) => this.send(leg, m),
      toClient: this.toClient,
      ready: (fromNode) => this.ready(fromNode),
      done: this.inbox.cycleDone,
      failed: this.cycleFailed,
    });
  }

  /** Each node's connection with its protocol state, for the release (filled when the relay ends; primary first). */
  readonly connections: { conn: ServerConnection; stream: StreamState }[] = [];

  setTap(tap: StatementTap | undefined): void {
    this.tap = tap;
  }

  clientNotice(b: Buffer): void {
    this.toClient(b);
  }

  setBackendLog(log: BackendMessageLog | undefined): void {
    for (const leg of [this.primary, this.standby]) leg.seen = log && ((t) => log.seen(leg.node, t));
  }

  /** Where log_per_node_statement says the tapped messages go. */
  get statementTarget(): StatementTarget {
    return this.target;
  }

  clientIdleFor(now: number): number {
    return this.stream.executing ? 0 : now - this.lastActivity;
  }

  stop(reason: string): void {
    this.finish({ kind: 'stopped', reason });
  }

  private readonly onClientData = (chunk: Buffer) => {
    this.lastActivity = performance.now();
    this.bytesFromClient += chunk.length;
    try {
      this.inbox.push(chunk);
    } catch (e) {
      this.finish({ kind: 'protocol-error', message: (e as Error).message });
    }
  };
  private readonly onClientGone = () => this.finish({ kind: 'client-gone' });
  private readonly onClientDrain = () => {
    for (const l of [this.primary, this.standby]) l.conn.socket.resume();
  };

  /** A message of the open cycle goes on at once (true); any other waits for its cycle. */
  private openCycleTakes(m: Buffer): boolean {
    const o = this.one.open;
    const t = m[0];
    if (!o || !((isCopy(t) && o.leg.stream.inCopyIn) || (!o.synced && isExtendedOrSync(t)))) return false;
    if (t === FrontendCode.Sync) o.synced = true;
    if (
      o.leg === this.standby &&
      !o.failed &&
      !staysOnStandby(m, o, this.p.router, this.p.prepared, this.standby.node)
    ) {
      // A statement that must not run on the standby: its part of the cycle ends here.
      this.standby.injectSync();
      o.leg = this.primary;
    }
    this.send(o.leg, m);
    return true;
  }

  start(primaryExtra: Buffer, fromClient: Buffer): void {
    const c = this.p.client;
    c.on('data', this.onClientData);
    c.on('end', this.onClientGone);
    c.on('close', this.onClientGone);
    c.on('error', this.onClientGone);
    c.on('drain', this.onClientDrain);
    if (primaryExtra.length > 0) this.toClient(primaryExtra);
    if (fromClient.length > 0) this.onClientData(fromClient);
    c.resume();
  }

  private finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = true;
    const c = this.p.client;
    c.off('data', this.onClientData);
    c.off('end', this.onClientGone);
    c.off('close', this.onClientGone);
    c.off('error', this.onClientGone);
    c.off('drain', this.onClientDrain);
    // The session may write to the client next (a FATAL, say): what waits goes first.
    this.clientWriter.writePending();
    for (const l of [this.primary, this.standby]) {
      // Bytes read past the last message cannot be given back to the reset: do not reuse it.
      if (!l.detach()) l.conn.close();
      this.connections.push({ conn: l.conn, stream: l.stream });
    }
    this.inbox.close(new Ended(end));
    this.p.onEnd(end);
  }

  private readonly cycleFailed = (e: Error): void => {
    if (e instanceof Ended) this.finish(e.end);
    else if (e instanceof LegGoneError) this.finish(e.end);
    else this.finish({ kind: 'protocol-error', message: e.message });
  };

  /** Bytes for the client (also what a drain passes on whole): both nodes pause while it does not read. */
  private readonly toClient = (b: Buffer): void => {
    this.bytesToClient += b.length;
    if (!this.clientWriter.write(b)) for (const l of [this.primary, this.standby]) l.conn.socket.pause();
  };

  /** Replies waiting for the turn's end go now (the session is about to write to the client itself). */
  writePending(): void {
    this.clientWriter.writePending();
  }

  /** ReadyForQuery with the client's status: the node's own when it says the same (it then goes out with the replies before it). */
  private ready(fromNode?: Buffer): void {
    const status = this.p.router.clientStatus;
    this.toClient(fromNode !== undefined && fromNode[5] === status ? fromNode : readyFor(status));
    this.p.timing.now = this.lastActivity = performance.now();
    this.stream.readyReceived(status);
  }

  private readonly classify = (sql: string) => this.p.router.classify(sql);

  /** Internal queries between cycles (the catalog's facts, causal reads' log positions). */
  private readonly ask = {
    primary: (sql: string) => this.primary.query(sql),
    standby: (sql: string) => this.standby.query(sql),
  };

  /**
   * A request cycle. Its steps return their promises, not awaited (one per cycle, not one
   * per step); a cycle whose route is known at once on one node takes no promise at all.
   */
  private cycle(first: Buffer): Step {
    const type = first[0];
    // COPY data after its COPY ended (the client's answer to an error): PostgreSQL
    // ignores it and answers nothing, so it is no request and goes nowhere.
    if (isCopy(type)) return undefined;
    this.p.timing.now = performance.now();
    this.stream.requestSent();
    if (type === FrontendCode.Terminate) throw new Ended({ kind: 'terminate' });
    if (type === FrontendCode.Query) return this.query(first);
    if (isExtendedOrSync(type)) return this.extended(first);
    // FunctionCall and anything else: the primary, as pgpool routes a fast-path call.
    return this.single(this.primary, [first], []);
  }

  private query(raw: Buffer): Step {
    const sql = querySql(raw);
    this.counts.queryKind = undefined;
    if (this.stream.pending === 1 && mayBePoolerCommand(raw, 5, raw.length - 1)) {
      const command = this.p.poolerCommand(sql);
      if (command) return this.poolerCommand(raw, command);
    }
    const router = this.p.router;
    const c = router.classify(sql);
    this.counts.queryKind = c.cls.stat;
    if (router.failedOnStandby && c.cls.tx !== 'end' && c.cls.tx !== 'rollback-to') return this.refuseInFailed(sql);
    const statements = [router.routed(c, sql)];
    const d = router.destination(c, sql, this.ask);
    if (typeof d !== 'string' || c.cls.prepare) return this.queryLater(raw, c, sql, d, statements);
    return this.queryTo(raw, c, d, statements);
  }

  private queryTo(raw: Buffer, c: Classified, d: Destination, statements: RoutedStatement[]): Step {
    if (d === 'both') return this.twoNodes.both([raw], [forStandby(raw, this.classify)], statements, c.cls);
    return this.single(d === 'lb' ? this.standby : this.primary, [raw], statements);
  }

  /** A Query whose destination waits on the catalog, or an SQL PREPARE / EXECUTE / DEALLOCATE. */
  private async queryLater(
    raw: Buffer,
    c: Classified,
    sql: string,
    destination: Destination | Promise<Destination>,
    statements: RoutedStatement[],
  ): Promise<StepEnd> {
    const d = await destination;
    if (!c.cls.prepare) return this.queryTo(raw, c, d, statements);
    const to = await this.sqlPrepared.route(c.cls, sql, d);
    if (to === 'both') return this.twoNodes.both([raw], [raw], statements, c.cls);
    return this.single(to === 'standby' ? this.standby : this.primary, [raw], statements);
  }

  /** SHOW pool_*, PGPOOL SHOW/SET/RESET: answered here, no node asked. */
  private async poolerCommand(raw: Buffer, command: () => Buffer | Promise<Buffer>): Promise<void> {
    this.showTap(raw, this.primary, 'answered');
    this.toClient(await command());
    this.p.timing.now = this.lastActivity = performance.now();
    this.stream.readyReceived(this.p.router.clientStatus);
  }

  private refuseInFailed(sql: string): undefined {
    this.toClient(errorResponse(poolerError('IN_FAILED_TRANSACTION', { query: sql })));
    this.ready();
    return undefined;
  }

  private extended(first: Buffer): Step {
    // The batch is what already waits, up to its Sync.
    const batch = [first];
    this.inbox.takeCycle(batch);
    const complete = batch[batch.length - 1][0] === FrontendCode.Sync;
    const route = this.p.router.routeExtended(batch, complete, this.ask);
    return route instanceof Promise
      ? route.then((r) => this.routedExtended(batch, complete, r))
      : this.routedExtended(batch, complete, route);
  }

  private routedExtended(batch: Buffer[], complete: boolean, route: CycleRoute): Step {
    if (
      this.p.router.failedOnStandby &&
      !route.statements.every((s) => s.cls.tx === 'end' || s.cls.tx === 'rollback-to')
    )
      return this.refuseCycle(complete, route.statements[0]?.sql ?? '');
    if (route.to === 'both' && complete) {
      const ending = route.statements.find((s) => s.cls.tx !== undefined)?.cls;
      return this.twoNodes.both(
        batch,
        batch.map((m) => forStandby(m, this.classify)),
        route.statements,
        ending,
      );
    }
    if (route.beginFirst !== undefined)
      return this.twoNodes.beginThenStandby(batch, route.beginFirst, route.statements);
    return this.single(route.to === 'lb' ? this.standby : this.primary, batch, route.statements, !complete);
  }

  /** PostgreSQL would skip to the Sync after the error: the whole cycle gets one answer. */
  private async refuseCycle(complete: boolean, sql: string): Promise<void> {
    while (!complete && (await this.inbox.next())[0] !== FrontendCode.Sync);
    this.refuseInFailed(sql);
  }

  /** A cycle on one leg (the primary when it moves there midway): its end calls the inbox's cycleDone, no promise between. */
  private single(leg: Leg, messages: Buffer[], statements: RoutedStatement[], open = false): typeof PENDING {
    this.one.start(leg, messages, statements, open);
    return PENDING;
  }

  /**
   * Writes one client message to a leg, first making the statement a Bind uses exist
   * there. `also`: the same message went to the primary first (a BOTH cycle).
   */
  private send(leg: Leg, m: Buffer, also = false): void {
    placeStatement(this.p.prepared, this.classify, leg, m, also);
    this.counts.sent(leg.node, m);
    this.showTap(m, leg, also ? 'again' : 'sent');
    leg.write(m);
  }

  /** Shows a message to the statement log, naming the node it goes to. */
  private showTap(m: Buffer, leg: Leg, shownAs: ShownAs = 'sent'): void {
    if (!this.tap) return;
    this.target.node = leg.node;
    this.target.pid = leg.conn.pid;
    showWhole(this.tap, m, shownAs);
  }
}
