// The main process's composition root (docs/architecture.md#processes): it builds the
// parts, each owning one concern — workers (worker-pool), what children exist (the
// workers' reports in child-directory; process-manager), clients before a child has them
// (front-door), who accepts them (accept-control), cancel routing, the node table (cluster/), /metrics and PCP
// (admin-endpoints), signals, reload and stop (lifecycle) — and routes the workers'
// messages to them. It never relays client traffic.
import type net from 'node:net';
import os from 'node:os';
import { ClusterMonitor } from '../cluster/cluster-monitor.js';
import { NodeTable } from '../cluster/node-table.js';
import type { LoadedConfig } from '../config/conf-loader.js';
import { assertNever } from '../ipc/channel.js';
import type { StopMode, ToWorker } from '../ipc/messages.js';
import type { LogOutput } from '../logging/log-output.js';
import { reservedChildren } from '../policy/admission.js';
import { clientTls } from '../protocol/tls.js';
import { AcceptControl } from './accept-control.js';
import { AdminEndpoints } from './admin-endpoints.js';
import { CancelRouter } from './cancel-router.js';
import { checkBackendCapacity } from './capacity-check.js';
import { ChildDirectory } from './child-directory.js';
import { TxClientCounts } from './tx-clients.js';
import { FrontDoor } from './front-door.js';
import { Lifecycle, RunningConfig } from './lifecycle.js';
import type { EarlyStart } from './listen-early.js';
import type { OpenListeners } from './listeners.js';
import { ProcessManager, SPARE_CHECK_INTERVAL_MS } from './process-manager.js';
import { statusLine, SystemdNotifier } from './systemd-notify.js';
import { WorkerPool, type WorkerMessage } from './worker-pool.js';

export class Supervisor {
  private readonly running: RunningConfig;
  /** worker_processes is start-only, so the count is fixed for the supervisor's life. */
  readonly workerCount: number;
  private readonly systemd = new SystemdNotifier(process.env.NOTIFY_SOCKET);
  private readonly workers: WorkerPool;
  private readonly directory: ChildDirectory;
  private readonly nodes: NodeTable;
  private readonly cluster: ClusterMonitor;
  private readonly processes: ProcessManager;
  private readonly frontDoor: FrontDoor;
  private readonly txClients: TxClientCounts;
  private readonly cancels: CancelRouter;
  private readonly admin: AdminEndpoints;
  private readonly lifecycle: Lifecycle;
  private listeners: OpenListeners | undefined;
  private accepting: AcceptControl | undefined;
  private spareTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly exited: Promise<number>;
  /** Counters for logs and metrics. */
  readonly counters = {
    rejectedReserved: 0,
    rejectedQueueFull: 0,
    cancelsForwarded: 0,
    cancelsUnknown: 0,
    workerRestarts: 0,
    supervisorAccepted: 0,
  };

  constructor(
    loaded: LoadedConfig,
    /** pool_hba.conf (-a), the pool key file (-k, $PGPOOLKEYFILE, ~/.pgpoolkey) and pcp.conf (-F). */
    private readonly files: { readonly hba: string; readonly poolKey: string; readonly pcp: string },
    /** Where every process's lines go, and whether -d forces debug messages. */
    logging: { readonly output: LogOutput; readonly debug: boolean },
    /** The pid file and the listeners, already there (listen-early.ts). */
    private readonly early: EarlyStart,
    /** -D: discard the pgpool_status file. */
    options: { readonly discardStatus: boolean } = { discardStatus: false },
  ) {
    const running = (this.running = new RunningConfig(loaded, logging));
    const cfg = () => running.cfg;
    const log = () => running.log;
    let exit!: (code: number) => void;
    this.exited = new Promise((r) => (exit = r));
    this.workerCount =
      running.cfg.worker_processes > 0 ? running.cfg.worker_processes : Math.max(1, os.availableParallelism());
    this.workers = new WorkerPool(this.workerCount, {
      init: (w) => this.initMessages(w),
      message: (w, m, socket) => this.onWorkerMessage(w, m, socket),
      exited: (w, code, signal) => this.onWorkerExit(w, code, signal),
      logLine: logging.output.write,
    });
    this.txClients = new TxClientCounts(
      this.workerCount,
      () => this.running.cfg.max_client_conn,
      () => this.running.log,
    );
    this.directory = new ChildDirectory(this.workerCount, {
      connDone: (connId) => this.frontDoor.connDone(connId),
      exited: (entry, reason) => {
        running.log.debug({ child: entry.id, worker: entry.workerId, reason }, 'child exited');
        this.processes.childExited();
      },
    });
    this.nodes = new NodeTable(running.cfg, (nodes) => {
      this.workers.broadcast({ t: 'nodes', nodes });
      this.cluster?.nodesChanged(nodes);
    });
    this.cluster = new ClusterMonitor({
      config: cfg,
      files: { configFile: running.file, poolKeyFile: files.poolKey },
      table: this.nodes,
      log,
      configDir: running.dir,
      discardStatus: options.discardStatus,
      endSessions: (node, scope) => this.workers.broadcast({ t: 'endSessions', node, scope }),
      // As a reload adding nodes: the workers first get the addresses, then the node table.
      addBackends: (added) => {
        running.addBackends(added);
        this.configChanged();
      },
    });
    this.processes = new ProcessManager(cfg, log, this.directory, this.workers);
    this.cancels = new CancelRouter(this.workers, this.counters, log, () => running.cfg.log_client_messages);
    this.frontDoor = new FrontDoor({
      config: cfg,
      log,
      directory: this.directory,
      workers: this.workers,
      counters: this.counters,
      cancel: (pid, key) => this.cancels.fromWaitingClient(pid, key),
      // pgpool would wait for its next 2-second check; a waiting client is reason enough to check now.
      noFreeChild: () => this.checkSpareChildren(),
      // Workers are held while anyone waits: a freed child is the first in line's, not a newer client's.
      queueChanged: () => this.accepting?.update(),
      waitSeconds: () => this.admin.waitSeconds,
      txWorker: (socket, placed) => this.txClients.place(socket, placed),
    });
    this.admin = new AdminEndpoints({
      config: cfg,
      log,
      view: () => ({
        cfg: running.cfg,
        nodes: this.nodes.snapshot(),
        startedAt: this.startedAt,
        health: (id) => this.cluster.healthStats(id),
      }),
      workers: this.workers,
      configDir: running.dir,
      pcpFile: files.pcp,
      state: {
        numInitChildren: () => running.cfg.num_init_children,
        children: () => this.childCounts,
        reservedChildren: () => {
          const reserved = this.reservedChildren();
          let busy = 0;
          for (const id of reserved) if (this.directory.get(id)?.connId !== undefined) busy++;
          return { busy, idle: reserved.size - busy };
        },
        waiting: () => this.frontDoor.waiting,
        counters: () => this.counters,
      },
      reservedChildren: () => this.reservedChildren(),
      waitingClients: () => this.frontDoor.waitingClients(),
      reload: () => this.lifecycle.reload(),
      shutdown: (mode) => this.lifecycle.shutdown(mode),
      nodeRequests: {
        attach: (id) => this.cluster.attach(id),
        detach: (id, graceful) => this.cluster.detach(id, graceful, () => this.directory.busy),
        promote: (id, switchover, graceful) =>
          this.cluster.promote(id, switchover, graceful, () => this.directory.busy),
      },
    });
    this.lifecycle = new Lifecycle({
      running,
      systemd: this.systemd,
      output: logging.output,
      status: () => this.currentStatus(),
      reloaded: () => this.configChanged(),
      closeDoors: (mode) => this.closeDoors(mode),
      stopWorkers: (mode) => {
        if (this.workers.allStopped) return true;
        this.workers.broadcast({ t: 'shutdown', mode });
        return false;
      },
      killWorkers: () => this.workers.kill('SIGKILL'),
      exited: exit,
    });
  }

  /** Starts everything; resolves with the addresses listened on. */
  async start(): Promise<string[]> {
    const cfg = this.running.cfg;
    const log = this.running.log;
    // ssl = on with unusable certificate files: refuse to start, naming the parameter.
    if (cfg.ssl) clientTls(cfg, this.running.dir);
    if (this.early.stalePid)
      log.warn(`pid file found but it seems bogus (process ${this.early.stalePid} is gone). Trying to start anyway...`);
    for (const w of this.early.warnings) log.warn(w);
    const listeners = (this.listeners = this.early.listeners);
    this.early.adopt((s) => this.frontDoor.onConnection(s));
    this.accepting = new AcceptControl(
      listeners.servers.map((server, i) => ({ server, backlog: listeners.backlogs[i] })),
      {
        workers: this.workers,
        view: () => ({
          free: this.directory.freeByWorker(),
          waiting: this.frontDoor.waiting,
          // reserved_connections counts every client of every worker, and admin_reserved_children
          // must see each startup packet before placing the client: only the supervisor can.
          workersAccept:
            // Transaction mode: clients hold children only per transaction; the reservations do not apply.
            this.running.cfg.pool_mode === 'transaction' ||
            (this.running.cfg.reserved_connections === 0 && this.running.cfg.admin_reserved_children === 0),
        }),
        waiting: () => this.frontDoor.waiting,
        accepted: (socket) => this.frontDoor.onConnection(socket),
      },
    );
    await Promise.all(Array.from({ length: this.workerCount }, (_, w) => this.workers.start(w)));
    this.processes.startInitial();
    this.spareTimer = setInterval(() => {
      this.checkSpareChildren();
      this.systemd.status(this.currentStatus());
    }, SPARE_CHECK_INTERVAL_MS);
    await this.admin.start();
    this.lifecycle.installSignals();
    void checkBackendCapacity(cfg, log);
    this.cluster.start();
    // Listening, and the workers are up: tell systemd (Type=notify) we are ready.
    void this.systemd.send({ READY: '1', STATUS: this.currentStatus() });
    log.info(
      {
        listen: this.listeners.where,
        workers: this.workerCount,
        children: this.processes.childCount,
        mode: cfg.process_management_mode,
      },
      'pgpool-ts successfully started',
    );
    return this.listeners.where;
  }

  /** Resolves with the exit code when the supervisor has shut down. */
  waitForExit(): Promise<number> {
    return this.exited;
  }

  /** Live children, and how many have a client. */
  get childCounts(): { total: number; busy: number } {
    return { total: this.processes.childCount, busy: this.directory.busy };
  }

  /** The children reserved for admin_users now (docs/behaviour.md#admission). */
  private reservedChildren(): Set<number> {
    const cfg = this.running.cfg;
    if (cfg.admin_reserved_children === 0) return new Set();
    const admins = this.frontDoor.adminConnIds();
    const children = [...this.directory.values()].map((c) => ({
      id: c.id,
      busy: c.connId !== undefined,
      admin: c.connId !== undefined && admins.has(c.connId),
    }));
    return reservedChildren(children, cfg);
  }

  private initMessages(w: number): ToWorker[] {
    return [
      {
        t: 'init',
        workerId: w,
        workerCount: this.workerCount,
        config: this.running.forWorkers(),
        configFile: this.running.file,
        hbaFile: this.files.hba,
        poolKeyFile: this.files.poolKey,
      },
      { t: 'nodes', nodes: this.nodes.snapshot() },
    ];
  }

  private onWorkerMessage(w: number, m: WorkerMessage, socket?: net.Socket): void {
    switch (m.t) {
      case 'ready':
        return;
      case 'childState':
        this.processes.reported(m.childId);
        this.directory.report(w, m.childId, m.state);
        if (m.state.kind !== 'busy') this.drainQueue();
        return;
      case 'clientBack':
        this.frontDoor.clientBack(w, m.connId, Buffer.from(m.initial, 'base64'), socket);
        this.accepting?.update();
        return;
      case 'clientLost':
        this.directory.settle(w, m.connId);
        this.frontDoor.connDone(m.connId);
        this.drainQueue();
        return;
      case 'listenerCopy':
        this.accepting?.copyArrived(m.index, socket);
        return;
      case 'accepting':
        this.accepting?.workerAccepting(w, m.open, m.granted);
        return;
      case 'nodeUsed':
        this.nodes.used(m.node);
        return;
      case 'nodeFailed':
        this.cluster.nodeFailed(m.node);
        return;
      case 'adminQuery':
        this.admin.showReport(m.name).then(
          (report) => this.workers.send(w, { t: 'adminAnswer', reqId: m.reqId, report }),
          (e: Error) => this.workers.send(w, { t: 'adminAnswer', reqId: m.reqId, error: e.message }),
        );
        return;
      case 'cancelRequest':
        this.cancels.fromWorker(m.pid, m.key);
        return;
      case 'cancelHandled':
        this.cancels.handled(m.pid, m.forwarded);
        return;
      case 'txClients':
        this.txClients.reported(w, m.count);
        return;
      default:
        assertNever(m);
    }
  }

  private onWorkerExit(w: number, code: number | null, signal: NodeJS.Signals | null): void {
    const { children, inFlight } = this.directory.dropWorker(w);
    this.txClients.reported(w, 0);
    const starting = this.processes.workerDied(w);
    this.accepting?.workerAccepting(w, false, false);
    const busy = children.filter((c) => c.connId !== undefined);
    for (const c of busy) this.frontDoor.connDone(c.connId!);
    // Sockets on their way to the dead worker are lost with it.
    this.frontDoor.lost(inFlight);
    if (this.lifecycle.stopMode) {
      if (this.workers.allStopped) void this.lifecycle.finish();
      return;
    }
    this.running.log.error(
      { worker: w, code, signal, clientsLost: busy.length },
      `worker ${w} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); ${busy.length} of its clients lost their sessions; restarting it`,
    );
    this.counters.workerRestarts++;
    this.workers
      .start(w)
      .then(() => {
        this.processes.workerRestarted(w, children.length + starting);
        this.drainQueue();
      })
      .catch((e: Error) => this.running.log.error(`could not restart worker ${w}: ${e.message}`));
  }

  /** The running configuration changed (a reload, a node discovery added): workers first, then the node table and cluster/. */
  private configChanged(): void {
    this.workers.broadcast({ t: 'reload', config: this.running.forWorkers() });
    this.cluster.reloaded(this.nodes.configure(this.running.cfg));
  }

  private checkSpareChildren(): void {
    if (this.processes.checkSpareChildren()) this.drainQueue();
  }

  /** Free children take the waiting clients first; then whoever may accept does. */
  private drainQueue(): void {
    this.frontDoor.drainQueue();
    this.accepting?.update();
  }

  private closeDoors(mode: StopMode): void {
    if (this.spareTimer) clearInterval(this.spareTimer);
    this.processes.stop();
    this.cluster.stop();
    this.accepting?.close();
    this.listeners?.close();
    this.admin.close();
    this.frontDoor.close(mode);
  }

  private currentStatus(): string {
    return statusLine(this.processes.childCount, this.directory.busy, this.frontDoor.waiting);
  }
}
