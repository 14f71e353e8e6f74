// Worker process entry and IPC endpoint: hosts children (children.ts, the only authority
// over them), accepts clients while a child is idle (listening.ts) and takes the ones the
// supervisor queued (accept.ts), and is the SessionEnv its sessions run in. Started by the
// supervisor with child_process.fork.
import type net from 'node:net';
import { StatementCounts } from '../admin/statement-counts.js';
import { classifyPoolerCommand } from '../admin/pooler-command.js';
import { answerPgpoolCommand } from '../admin/pgpool-commands.js';
import { answerShow, withLoadBalanceNode, isShowReport, type Report } from '../admin/show-commands.js';
import { sendCancel } from '../backend/cancel.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { SessionSettings } from '../config/session-settings.js';
import { assertNever, Outbox, Requests } from '../ipc/channel.js';
import { clientShare } from '../policy/admission.js';
import type { FromWorker, ToWorker } from '../ipc/messages.js';
import type { NodeSnapshot } from '../ipc/node-snapshot.js';
import { isLastAlive } from '../policy/failover.js';
import { decodeConfig } from '../ipc/wire.js';
import { configuredLogger, type Logger } from '../logging/logger.js';
import { workerCounts, type DurationCounts } from '../metrics/duration-histogram.js';
import type { WorkerState } from '../metrics/worker-metrics.js';
import type client from 'prom-client';
import { acceptClient } from './accept.js';
import { durationMs } from '../config/accessors.js';
import { acceptTransactionClient, type TxAcceptDeps } from './transaction/tx-accept.js';
import { readsFrom } from './session/tx-session.js';
import { TxClients } from './transaction/tx-clients.js';
import { StatementNames } from './transaction/tx-messages.js';
import { TxPool } from './transaction/tx-pool.js';
import { AuthContext } from './auth-context.js';
import { CancelKeys } from './cancel-keys.js';
import { Children } from './children.js';
import { startJanitor } from './janitor.js';
import { Listening } from './listening.js';
import { childReport } from './reports.js';
import { delayVerdict } from '../policy/replication-delay.js';
import { CatalogFacts } from './routing/catalog-facts.js';
import { loadParser, StatementClassifier } from './routing/classifier.js';
import { mayLoadBalance, planSession, readOnStandby, type SessionPlan } from './routing/router.js';
import type { SessionEnv, SessionNames } from './session/session-env.js';
import type { EndedSession, Session } from './session/session.js';

/** How long a SHOW pool_* waits for the supervisor's report. */
const ADMIN_ANSWER_TIMEOUT_MS = 10_000;
/** Time for the last Terminate messages to PostgreSQL and IPC messages to leave before exiting. */
const EXIT_GRACE_MS = 50;
// pushLazy's keys beside the children's (their ids, from 0): the txClients count, whether this worker accepts.
const TX_CLIENTS_KEY = -1;
const ACCEPTING_KEY = -2;
/** What a client this worker accepted had sent before: nothing (one buffer for all of them). */
const NOTHING_READ = Buffer.alloc(0);

class Worker implements SessionEnv {
  config!: PgpoolConfig;
  log!: Logger;
  private workerId = -1;
  private workerCount = 1;
  private files = { configFile: '', hbaFile: '', poolKeyFile: '' };
  readonly auth = new AuthContext(
    () => this.files,
    () => this.log,
  );
  readonly cancelKeys = new CancelKeys();
  private nodes: NodeSnapshot = [];
  /** Nodes this worker already told the supervisor it connected to. */
  private readonly nodesUsed = new Set<number>();
  private readonly outbox = new Outbox<FromWorker>(
    (m) => process.send?.(m),
    (messages) => ({ t: 'batch', messages }),
  );
  private readonly supervisorAnswers = new Requests();
  /** What the metrics count beyond the live children: ended sessions and their bytes. */
  private readonly totals = { sessions: new Map<string, number>(), fromClients: 0, toClients: 0 };
  /** Ids of the clients this worker accepted itself: negative, so they never meet the supervisor's. */
  private lastOwnConnId = 0;
  private readonly listening = new Listening({
    accepted: (socket) => this.accept(--this.lastOwnConnId, socket, NOTHING_READ),
    send: (m, handle, done) => {
      this.outbox.flushNow();
      process.send?.(m, handle as net.Server, {}, done);
    },
    report: (m, now) => this.outbox.pushLazy(ACCEPTING_KEY, m, now),
    // Transaction mode: clients hold no child while idle, so this worker accepts whatever its children do.
    idle: () => this.transactionMode || this.children.idleCount > 0,
    warn: (message) => this.log.warn(message),
  });
  readonly children = new Children({
    config: () => this.config,
    log: () => this.log,
    send: (m) => {
      if (this.listening.mayReportLate(m)) this.outbox.pushLazy(m.childId, m);
      else this.outbox.push(m);
      this.listening.childrenChanged();
    },
    observers: {
      connected: (s) => this.counts.connectSeconds.observe(s),
      reset: (s) => this.counts.resetSeconds.observe(s),
    },
    empty: () => setTimeout(() => process.exit(0), EXIT_GRACE_MS),
    freed: () => this.txClients.childFreed(),
  });
  /** pool_mode = transaction (docs/transaction-pooling.md): the clients, the shared connections, the statement names. */
  readonly txClients = new TxClients(
    () => this.children,
    (count, roomAgain) => this.outbox.pushLazy(TX_CLIENTS_KEY, { t: 'txClients', count }, roomAgain),
    () => clientShare(this.workerId, this.workerCount, this.config.max_client_conn),
  );
  private readonly txNames = new StatementNames();
  readonly txPool = new TxPool(
    {
      perNode: () => this.children.size * this.config.max_pool,
      lifeTimeMs: () => durationMs(this.config, 'connection_life_time'),
    },
    { connected: (s) => this.counts.connectSeconds.observe(s) },
  );

  private get transactionMode(): boolean {
    return this.config?.pool_mode === 'transaction';
  }
  private readonly counts = workerCounts();
  /** prom-client and the registry, loaded at the first scrape (a worker nobody scrapes never loads them). */
  private registry: Promise<client.Registry> | undefined;
  private readonly metricsState: WorkerState = {
    cache: () => {
      const c = { ...this.children.exitedTotals.cache };
      for (const stats of [this.txPool.stats, ...[...this.children.values()].map((ch) => ch.pool.cache.stats)])
        for (const k of ['hits', 'misses', 'evictions'] as const) c[k] += stats[k];
      return c;
    },
    sessions: () => this.totals.sessions,
    routing: () => ({
      cycles: this.routedCycles,
      classified: { cached: this.routing?.classifier.hits ?? 0, parsed: this.routing?.classifier.misses ?? 0 },
      catalog: { cached: this.routing?.facts.hits ?? 0, queried: this.routing?.facts.queries ?? 0 },
    }),
    childExits: () => this.children.exitedTotals.exits,
    transactionClients: () => this.txClients.counts(),
    bytes: () => {
      let fromClients = this.totals.fromClients;
      let toClients = this.totals.toClients;
      for (const session of this.sessions()) {
        fromClients += session.relay?.bytesFromClient ?? 0;
        toClients += session.relay?.bytesToClient ?? 0;
      }
      return { fromClients, toClients };
    },
  };
  private readonly janitor = startJanitor(() => this.sessions());

  /** Every session of this worker: those on a child, and transaction-mode clients between transactions. */
  private *sessions(): Iterable<Session> {
    if (this.transactionMode) yield* this.txClients.sessions;
    else for (const child of this.children.values()) if (child.session) yield child.session;
  }

  handle(m: ToWorker, socket?: net.Socket): void {
    switch (m.t) {
      case 'init':
        this.workerId = m.workerId;
        this.workerCount = Math.max(1, m.workerCount);
        this.cancelKeys.owner(m.workerId, m.workerCount);
        this.files = { configFile: m.configFile, hbaFile: m.hbaFile, poolKeyFile: m.poolKeyFile };
        this.apply(decodeConfig(m.config));
        this.outbox.push({ t: 'ready', workerId: m.workerId });
        return;
      case 'nodes':
        this.nodes = m.nodes;
        for (const n of m.nodes) if (n.status !== 'up') this.nodesUsed.delete(n.id);
        return;
      case 'reload':
        this.apply(decodeConfig(m.config));
        for (const session of this.sessions()) session.settingsChanged();
        return;
      case 'spawn':
        this.children.spawn(m.childId);
        return;
      case 'retire':
        this.children.retire(m.childId);
        return;
      case 'client':
        if (!socket) {
          this.log.warn({ connId: m.connId }, 'client message arrived without its socket');
          this.outbox.push({ t: 'clientLost', connId: m.connId });
          return;
        }
        this.accept(m.connId, socket, Buffer.from(m.initial, 'base64'));
        return;
      case 'listen':
        this.listening.take(m.index, m.backlog, socket, m.copies, m.hold);
        return;
      case 'acceptHold':
        this.listening.hold(m.hold);
        return;
      case 'cancel':
        this.outbox.push({ t: 'cancel', reqId: m.reqId, forwarded: this.forwardCancel(m.pid, m.key) });
        return;
      case 'shutdown':
        this.listening.stop();
        this.janitor.stop();
        this.txClients.shutdown(m.mode);
        this.txPool.clear();
        this.children.shutdown(m.mode);
        return;
      case 'endSessions':
        this.children.endSessions(m.node, m.scope);
        for (const s of this.txClients.sessions)
          if (m.scope === 'all' || s.usesNode(m.node) || readsFrom(s, m.node)) s.stop('failover');
        this.txPool.clear();
        return;
      case 'adminAnswer':
        this.supervisorAnswers.answer(m.reqId, m);
        return;
      case 'metrics':
        this.registry ??= import('../metrics/worker-metrics.js').then((mod) =>
          mod.workerRegistry(this.metricsState, this.counts, `worker ${process.env.PGPOOL_TS_WORKER ?? '?'}`),
        );
        void this.registry
          .then((r) => r.getMetricsAsJSON())
          .then((json) => this.outbox.push({ t: 'metrics', reqId: m.reqId, json }));
        return;
      case 'report': {
        const now = performance.now();
        const children = [...this.children.values()].map((c) => childReport(c, now));
        this.outbox.push({ t: 'report', reqId: m.reqId, children, counts: this.statementCounts.snapshot() });
        return;
      }
      default:
        assertNever(m);
    }
  }

  /** Transaction mode's, one for every client (each keeps it for its session). */
  private txAccept: TxAcceptDeps | undefined;

  private accept(connId: number, socket: net.Socket, initial: Buffer): void {
    if (this.transactionMode) {
      this.txAccept ??= {
        children: this.children,
        clients: this.txClients,
        pool: this.txPool,
        names: this.txNames,
        env: this,
        worker: this.workerId,
        workers: this.workerCount,
        handBack: (connId, s, initial) => this.sendNow({ t: 'clientBack', connId, initial }, s),
        send: (msg) => this.outbox.push(msg),
        cancel: (pid, key) => this.cancelArrived(pid, key),
        ended: (result, session, child) => this.sessionEnded(result, session, child),
      };
      return acceptTransactionClient(connId, socket, initial, this.txAccept);
    }
    acceptClient(connId, socket, initial, {
      children: this.children,
      env: this,
      send: (msg, s) => this.sendNow(msg, s),
      cancel: (pid, key) => this.cancelArrived(pid, key),
      ended: (result, session, child) => this.sessionEnded(result, session, child),
    });
  }

  private apply(cfg: PgpoolConfig): void {
    this.config = cfg;
    this.loadRouting(cfg);
    this.log = configuredLogger(`pgpool-ts worker ${this.workerId}`, cfg);
    this.auth.load(cfg);
  }

  /** Sends now, after whatever this turn queued (a socket cannot travel in a batch). */
  private sendNow(m: FromWorker, socket?: net.Socket): void {
    this.outbox.flushNow();
    process.send?.(m, socket);
  }

  // SessionEnv

  plan(who: SessionNames): SessionPlan {
    return planSession(this.config, this.nodes, who);
  }

  readOnStandby(who: SessionNames, standby: number): boolean {
    return readOnStandby(this.config, this.nodes, who, standby);
  }

  routing: { readonly classifier: StatementClassifier; readonly facts: CatalogFacts } | undefined;
  /** Request cycles of routed sessions, by node (metrics). */
  private readonly routedCycles = new Map<number, number>();
  readonly statementCounts = new StatementCounts();

  cycleServed(node: number): void {
    this.routedCycles.set(node, (this.routedCycles.get(node) ?? 0) + 1);
  }

  nodeDelayed(node: number): boolean {
    const n = this.nodes.find((x) => x.id === node);
    return n !== undefined && delayVerdict(n, this.config) !== 0;
  }

  /** Routing needs PostgreSQL's parser: loaded once, only when load balancing can happen. */
  private loadRouting(cfg: PgpoolConfig): void {
    if (this.routing || !mayLoadBalance(cfg)) return;
    loadParser().then(
      () => (this.routing ??= { classifier: new StatementClassifier(), facts: new CatalogFacts() }),
      (e: Error) => this.log.error(`the SQL parser could not be loaded; no load balancing: ${e.message}`),
    );
  }

  lastAlive(node: number): boolean {
    return isLastAlive(this.nodes, node);
  }

  nodeUnreachable(node: number): void {
    this.outbox.push({ t: 'nodeFailed', node });
  }

  nodeConnected(node: number): void {
    if (this.nodesUsed.has(node)) return;
    this.nodesUsed.add(node);
    if (this.nodes.find((n) => n.id === node)?.status === 'waiting') this.outbox.push({ t: 'nodeUsed', node });
  }

  durations(database: string): { readonly queries: DurationCounts; readonly transactions: DurationCounts } {
    return { queries: this.counts.queries.of(database), transactions: this.counts.transactions.of(database) };
  }

  poolerCommand(
    query: string,
    settings: SessionSettings,
    changed: () => void,
    loadBalanceNode?: number,
  ): (() => Buffer | Promise<Buffer>) | undefined {
    const cmd = classifyPoolerCommand(query, isShowReport);
    if (!cmd) return undefined;
    if (cmd.kind === 'pgpool') return () => answerPgpoolCommand(cmd.command, this.config, settings, changed);
    return () =>
      answerShow(cmd.name, async (name) => {
        const r = await this.askSupervisor(name);
        return name === 'pool_nodes' && loadBalanceNode !== undefined ? withLoadBalanceNode(r, loadBalanceNode) : r;
      });
  }

  /** A SHOW pool_* report from the supervisor, which sees every worker's children and the node table. */
  private async askSupervisor(name: string): Promise<Report> {
    const [answer] = await this.supervisorAnswers.ask<Extract<ToWorker, { t: 'adminAnswer' }>>((reqId) => {
      this.outbox.push({ t: 'adminQuery', reqId, name });
      return 1;
    }, ADMIN_ANSWER_TIMEOUT_MS);
    if (!answer) throw new Error('no answer from the supervisor');
    if (!answer.report) throw new Error(answer.error ?? 'no answer');
    return answer.report;
  }

  /** A CancelRequest read by one of this worker's sessions: its own keys are forwarded here, others through the supervisor. */
  private cancelArrived(pid: number, keyHex: string): void {
    if (this.config.log_client_messages)
      this.log.info({ detail: `process id: ${pid}` }, 'Cancel message from frontend.');
    if (this.cancelKeys.ownerOf(keyHex) === this.workerId)
      this.outbox.push({ t: 'cancelHandled', pid, forwarded: this.forwardCancel(pid, keyHex) });
    else this.outbox.push({ t: 'cancelRequest', pid, key: keyHex });
  }

  /** Sends the cancel to the backend when one of this worker's sessions issued the key. */
  private forwardCancel(pid: number, keyHex: string): boolean {
    const targets = this.cancelKeys.find(pid, keyHex);
    if (!targets) return false;
    for (const target of targets) {
      this.log.info({ pid, backend: `${target.host}:${target.port}` }, 'forwarding cancel request to backend');
      sendCancel(target).catch((e: Error) => this.log.warn(`could not forward cancel request: ${e.message}`));
    }
    return true;
  }

  private sessionEnded(result: EndedSession, session: Session, child: number): void {
    this.totals.sessions.set(result.end, (this.totals.sessions.get(result.end) ?? 0) + 1);
    this.totals.fromClients += session.relay?.bytesFromClient ?? 0;
    this.totals.toClients += session.relay?.bytesToClient ?? 0;
    if (this.config.log_disconnections) {
      this.log.info(
        {
          child,
          user: result.startup.user,
          database: result.startup.database,
          peer: session.peer,
          backendPid: result.backendPid,
          reused: result.reused,
          cached: result.cached,
          end: result.end,
          ms: Date.now() - session.startedAt,
        },
        'frontend disconnection',
      );
    }
  }
}

const worker = new Worker();
process.on('message', (m: ToWorker, handle?: unknown) => worker.handle(m, handle as net.Socket | undefined));
process.on('disconnect', () => process.exit(0));
