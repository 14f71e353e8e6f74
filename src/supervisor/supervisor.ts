// The main process: owns the listeners, admits clients, forks and restarts workers,
// keeps the child table, forwards cancel requests, handles signals and reload. It reads
// only a client's first packet (to tell a CancelRequest apart) and never relays traffic.
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMALL_YOUNG_GENERATION } from '../node-flags.js';
import { loadConfig, type LoadedConfig } from '../config/conf-loader.js';
import { formatDiagnostic } from '../config/diagnostic.js';
import { durationMs } from '../config/accessors.js';
import { planReload } from '../config/reload.js';
import type { PgpoolConfig } from '../config/schema.js';
import { encodeConfig, type FromWorker, type ToWorker, type WireConfig } from '../ipc/messages.js';
import { configuredLogger, resolveLogFormat, type Logger } from '../logging/logger.js';
import { LineJoiner, LogOutput, logOutputSettings } from '../logging/log-output.js';
import { errorResponse, tooManyClientsResponse } from '../protocol/backend-write.js';
import { CANCEL_REQUEST_CODE, MAX_CANCEL_KEY_LENGTH, MAX_STARTUP_PACKET_LENGTH } from '../protocol/codes.js';
import { adminShutdown, authTimeout, tooManyWaiting } from '../protocol/errors.js';
import { admitOnAccept, backlogFor, chooseWorker, leastLoaded, placeClient } from '../policy/admission.js';
import { startPcpServer, type PcpDeps } from '../admin/pcp-server.js';
import type { PcpClientVersion } from '../admin/pcp-protocol.js';
import type { ChildReport } from '../admin/process-report.js';
import { backendNodes, healthCheckRow, poolStatusItems } from '../admin/admin-views.js';
import { loadPcpConf } from '../config/pcp-conf.js';
import { buildReport } from '../admin/show-commands.js';
import client from 'prom-client';
import { exporterMetricsText } from '../metrics/exporter-metrics.js';
import { clientTls } from '../protocol/tls.js';
import { CancelRegistry, sendCancel } from './cancel-router.js';
import { ChildTable } from './child-directory.js';
import { openListeners, type OpenListeners } from './listeners.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { initialChildren, selectVictims, spareCheck } from '../policy/spare-children.js';
import { monotonicUsec, statusLine, SystemdNotifier } from './systemd-notify.js';
import { serveMetrics, supervisorRegistry } from '../metrics/supervisor-metrics.js';
import type http from 'node:http';
import { capacityWarning } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import { PROTOCOL_3_0 } from '../protocol/codes.js';
import { readStartupPacket, sortedStartupPacket } from '../protocol/frontend-read.js';
import { BackendConnection } from '../backend/server-connection.js';
import { backendTarget } from '../backend/address.js';

/** pgpool's main loop wakes every 2 s (4.4+); the spare-children check runs then. */
const SPARE_CHECK_INTERVAL_MS = 2000;

/** The workers' V8 flags: the supervisor's plus SMALL_YOUNG_GENERATION, unless NODE_OPTIONS or the command line set a size. */
export function workerExecArgv(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = [...execArgv, nodeOptions].some((a) => a.includes('--max-semi-space-size'));
  return given ? [...execArgv] : [...execArgv, SMALL_YOUNG_GENERATION];
}

export type StopMode = 'smart' | 'fast' | 'immediate';

interface Pending {
  readonly id: number;
  readonly socket: net.Socket;
  initial: Buffer;
  /** new: just accepted; waiting: in line for a child; sent: handed to a worker or gone. */
  state: 'new' | 'waiting' | 'sent';
  /** authentication_timeout for a waiting client that has not sent a whole first packet. */
  timer?: NodeJS.Timeout;
  /** When it started waiting for a child (performance.now()), for the wait histogram. */
  waitingSince?: number;
  onData?: (b: Buffer) => void;
  onGone?: () => void;
}

const WORKER_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../worker/worker.js');
/** The most a client may send before it is placed: an SSLRequest and a maximal startup packet. */
const MAX_FIRST_BYTES = 8 + MAX_STARTUP_PACKET_LENGTH;

/** Stops libuv reading on a socket's handle (Node's pause() only stops emitting). */
function stopReading(socket: net.Socket): void {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  socket.pause();
}

export class Supervisor {
  private cfg: PgpoolConfig;
  private log: Logger;
  private readonly workers: (ChildProcess | undefined)[] = [];
  private readonly table = new ChildTable();
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Pending[] = [];
  private readonly cancels = new CancelRegistry();
  private listeners: OpenListeners | undefined;
  private connected = 0;
  private nextConnId = 1;
  private stopping: StopMode | undefined;
  private spareTimer: NodeJS.Timeout | undefined;
  private highLoadCounter = 0;
  private readonly systemd = new SystemdNotifier(process.env.NOTIFY_SOCKET);
  private metricsServers: http.Server[] = [];
  private pcp: { close: () => void } | undefined;
  private waitSeconds: client.Histogram | undefined;
  private nextRequestId = 1;
  /** askWorkers: the collector of each request still open, by request id. */
  private readonly workerAnswers = new Map<number, (answer: unknown) => void>();
  private readonly startedAt = Date.now();
  private readonly exited: Promise<number>;
  private resolveExit!: (code: number) => void;
  /** Counters for logs and, later, metrics. */
  readonly counters = {
    rejectedReserved: 0,
    rejectedQueueFull: 0,
    cancelsForwarded: 0,
    cancelsUnknown: 0,
    workerRestarts: 0,
  };

  constructor(
    private loaded: LoadedConfig,
    /** pool_hba.conf (-a), the pool key file (-k, $PGPOOLKEYFILE, ~/.pgpoolkey) and pcp.conf (-F). */
    private readonly files: { readonly hba: string; readonly poolKey: string; readonly pcp: string },
    /** Where every process's lines go, and whether -d forces debug messages. */
    private readonly logging: { readonly output: LogOutput; readonly debug: boolean },
  ) {
    this.cfg = loaded.config;
    this.log = this.makeLogger();
    this.workerCount =
      this.cfg.worker_processes > 0 ? this.cfg.worker_processes : Math.max(1, os.availableParallelism());
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** worker_processes is start-only, so the count is fixed for the supervisor's life. */
  readonly workerCount: number;

  private get pidFile(): string {
    return path.resolve(path.dirname(this.loaded.file), this.cfg.pid_file_name);
  }

  /** Starts everything; resolves with the addresses listened on. */
  async start(): Promise<string[]> {
    // ssl = on with unusable certificate files: refuse to start, naming the parameter.
    if (this.cfg.ssl) clientTls(this.cfg, path.dirname(this.loaded.file));
    const pid = writePidFile(this.pidFile);
    if (!pid.ok) throw new Error(pid.message);
    if (pid.stale)
      this.log.warn(`pid file found but it seems bogus (process ${pid.stale} is gone). Trying to start anyway...`);
    await Promise.all(Array.from({ length: this.workerCount }, (_, w) => this.forkWorker(w)));
    const initial = initialChildren(this.cfg.process_management_mode, this.cfg);
    for (let i = 0; i < initial; i++) this.spawnChild();
    this.spareTimer = setInterval(() => {
      this.checkSpareChildren();
      this.systemd.status(this.currentStatus());
    }, SPARE_CHECK_INTERVAL_MS);
    this.listeners = await openListeners(
      {
        addresses: this.cfg.listen_addresses,
        port: this.cfg.port,
        socketDirs: this.cfg.unix_socket_directories.map((d) => path.resolve(path.dirname(this.loaded.file), d)),
        socketPermissions: this.cfg.unix_socket_permissions,
        socketGroup: this.cfg.unix_socket_group,
        backlog: backlogFor(this.cfg),
      },
      (s) => this.onConnection(s),
      (m) => this.log.warn(m),
    );
    if (this.listeners.servers.length === 0) {
      await this.shutdown('immediate');
      throw new Error('could not listen on any address: check listen_addresses, port and unix_socket_directories');
    }
    if (this.cfg.metrics_port > 0) {
      const { registry, waitSeconds } = supervisorRegistry({
        numInitChildren: () => this.cfg.num_init_children,
        children: () => this.childCounts,
        waiting: () => this.queue.length,
        counters: () => this.counters,
      });
      this.waitSeconds = waitSeconds;
      try {
        this.metricsServers = await serveMetrics(
          () => this.scrape(registry),
          this.cfg.metrics_listen_addresses
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean),
          this.cfg.metrics_port,
        );
        // One scrape thrown away once the children are up compiles its code paths, so
        // Prometheus's first scrape costs what the later ones do (~10 ms with 1000 children, not ~60).
        setTimeout(() => void this.scrape(registry).catch(() => {}), SPARE_CHECK_INTERVAL_MS).unref();
      } catch (e) {
        this.log.warn(
          `could not serve /metrics on ${this.cfg.metrics_listen_addresses}:${this.cfg.metrics_port}: ${(e as Error).message}`,
        );
      }
    }
    this.pcp = await startPcpServer(
      {
        addresses: this.cfg.pcp_listen_addresses,
        port: this.cfg.pcp_port,
        socketDirs: this.cfg.pcp_socket_dir.map((d) => path.resolve(path.dirname(this.loaded.file), d)),
      },
      this.pcpDeps(),
    );
    this.installSignals();
    void this.checkBackendCapacity();
    // Every listener is bound: tell systemd (Type=notify) we are ready.
    void this.systemd.send({ READY: '1', STATUS: this.currentStatus() });
    this.log.info(
      {
        listen: this.listeners.where,
        workers: this.workerCount,
        children: this.table.size,
        mode: this.cfg.process_management_mode,
      },
      'pgpool-ts successfully started',
    );
    return this.listeners.where;
  }

  /** The supervisor's logger for the running configuration (remade on reload). */
  private makeLogger(): Logger {
    return configuredLogger('pgpool-ts', this.cfg, this.logging.output.write, this.logging.debug);
  }

  /** The configuration for workers, log_format = auto decided here, where the output is known. */
  private workerConfig(): WireConfig {
    return encodeConfig({
      ...this.cfg,
      log_format: resolveLogFormat(this.cfg.log_format, this.cfg.logging_collector, process.stderr.isTTY === true),
    });
  }

  /** Resolves with the exit code when the supervisor has shut down. */
  waitForExit(): Promise<number> {
    return this.exited;
  }

  private forkWorker(w: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // The worker's stderr comes here, so its lines reach the same files or syslog as ours.
      const child = fork(WORKER_SCRIPT, [], {
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        env: { ...process.env, PGPOOL_TS_WORKER: String(w) },
        execArgv: workerExecArgv(),
      });
      const lines = new LineJoiner(this.logging.output.write);
      child.stderr!.on('data', (d: Buffer) => lines.push(d));
      child.stderr!.on('end', () => lines.flush());
      this.workers[w] = child;
      const onReady = (m: FromWorker) => {
        if (m.t !== 'ready') return;
        child.off('message', onReady);
        resolve();
      };
      child.on('message', onReady);
      child.on('message', (m: FromWorker) => this.onWorkerMessage(w, m));
      child.once('error', reject);
      child.once('exit', (code, signal) => this.onWorkerExit(w, child, code, signal));
      this.toWorker(w, {
        t: 'init',
        workerId: w,
        config: this.workerConfig(),
        configFile: this.loaded.file,
        hbaFile: this.files.hba,
        poolKeyFile: this.files.poolKey,
      });
    });
  }

  /**
   * Sends to worker `w`; false only when it cannot be sent at all (no such worker, channel
   * closed). ChildProcess#send's own false means "queued behind earlier messages", not
   * "failed": the message and its socket still go out, so it must not be treated as lost.
   * A failure reported later comes through `onFail`.
   */
  private toWorker(w: number, m: ToWorker, socket?: net.Socket, onFail?: (e: Error) => void): boolean {
    const proc = this.workers[w];
    if (!proc?.connected) return false;
    try {
      proc.send(m, socket as net.Socket, {}, (e) => {
        if (e) onFail?.(e);
      });
      return true;
    } catch (e) {
      onFail?.(e as Error);
      return true;
    }
  }

  private spawnChild(): void {
    const w = leastLoaded(this.table.countByWorker(this.workerCount));
    const rec = this.table.add(w);
    this.toWorker(w, { t: 'spawn', childId: rec.id });
  }

  private onWorkerExit(w: number, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.workers[w] !== proc) return;
    this.workers[w] = undefined;
    const inflight = this.table.inflightOf(w);
    const children = this.table.dropWorker(w);
    for (const c of children) this.cancels.removeChild(c.id);
    for (const connId of inflight) this.connFinished(connId);
    if (this.stopping) {
      if (this.workers.every((p) => p === undefined)) void this.finishShutdown();
      return;
    }
    const busy = children.filter((c) => c.connId !== undefined);
    for (const c of busy) this.connFinished(c.connId!);
    // Sockets on their way to the dead worker are lost with it.
    this.log.error(
      { worker: w, code, signal, clientsLost: busy.length },
      `worker ${w} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); ${busy.length} of its clients lost their sessions; restarting it`,
    );
    this.counters.workerRestarts++;
    this.forkWorker(w)
      .then(() => {
        // Static mode replaces the lost children; dynamic mode leaves it to the spare check.
        if (this.cfg.process_management_mode === 'static') {
          for (let i = 0; i < children.length; i++) {
            const rec = this.table.add(w);
            this.toWorker(w, { t: 'spawn', childId: rec.id });
          }
        }
        this.drainQueue();
      })
      .catch((e) => this.log.error(`could not restart worker ${w}: ${(e as Error).message}`));
  }

  private onWorkerMessage(w: number, m: FromWorker): void {
    switch (m.t) {
      case 'batch':
        for (const one of m.messages) this.onWorkerMessage(w, one);
        return;
      case 'ready':
      case 'childStarted':
        return;
      case 'childBusy': {
        this.table.settled(w, m.connId);
        const rec = this.table.children.get(m.childId);
        if (rec) rec.connId = m.connId;
        this.cancels.add(m.childId, m.cancel);
        return;
      }
      case 'childFree': {
        const rec = this.table.children.get(m.childId);
        this.table.settled(w, m.connId);
        this.connFinished(m.connId);
        this.cancels.removeChild(m.childId);
        if (rec) {
          rec.connId = undefined;
          rec.pooled = m.pooled;
        }
        this.drainQueue();
        return;
      }
      case 'childExit': {
        const rec = this.table.remove(m.childId);
        const connId = m.connId ?? rec?.connId;
        if (connId !== undefined) {
          this.table.settled(w, connId);
          this.connFinished(connId);
        }
        this.cancels.removeChild(m.childId);
        if (!this.stopping && this.cfg.process_management_mode === 'static') {
          // Static process management: every exiting child is replaced at once
          // (dynamic mode: the spare-children check decides).
          this.spawnChild();
        }
        this.drainQueue();
        return;
      }
      case 'clientLost':
        this.table.settled(w, m.connId);
        this.connFinished(m.connId);
        this.drainQueue();
        return;
      case 'report':
        this.workerAnswers.get(m.reqId)?.(m.children);
        return;
      case 'metrics':
        this.workerAnswers.get(m.reqId)?.(m.json);
        return;
      case 'adminQuery':
        this.report().then(
          (children) =>
            this.toWorker(w, {
              t: 'adminAnswer',
              reqId: m.reqId,
              report: buildReport(m.name, this.cfg, children, this.startedAt),
            }),
          (e: Error) => this.toWorker(w, { t: 'adminAnswer', reqId: m.reqId, error: e.message }),
        );
        return;
      case 'cancelRequest':
        this.forwardCancel(m.pid, m.key);
        return;
    }
  }

  private connFinished(connId: number): void {
    if (this.pending.delete(connId)) this.connected--;
  }

  private onConnection(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (admitOnAccept(this.connected, this.cfg) === 'reject-reserved') {
      this.counters.rejectedReserved++;
      this.log.info({ peer: socket.remoteAddress }, 'Sorry, too many clients already (reserved_connections)');
      socket.on('error', () => {});
      socket.end(tooManyClientsResponse());
      return;
    }
    const p: Pending = { id: this.nextConnId++, socket, initial: Buffer.alloc(0), state: 'new' };
    this.pending.set(p.id, p);
    this.connected++;
    socket.on('error', () => {});
    const free = this.table.freeByWorker(this.workerCount);
    const totalFree = free.reduce((a, b) => a + Math.max(0, b), 0);
    const decision = placeClient(totalFree, this.queue.length, this.cfg);
    if (decision === 'dispatch') {
      // Fast path: the socket goes to a worker unread (pauseOnConnect), so no byte can be lost in the handoff.
      this.dispatch(p, chooseWorker(free));
      return;
    }
    if (decision === 'reject-queue-full') {
      this.rejectQueueFull(p);
      return;
    }
    // No free child: the client waits. Its first packet is read meanwhile, so that a
    // CancelRequest is forwarded at once and a client that leaves is forgotten.
    p.state = 'waiting';
    p.waitingSince = performance.now();
    this.queue.push(p);
    // pgpool would wait for its next 2-second check; a waiting client is reason enough to check now.
    if (this.cfg.process_management_mode === 'dynamic') this.checkSpareChildren();
    p.onData = (chunk) => this.onWaitingBytes(p, chunk);
    p.onGone = () => this.forget(p);
    socket.on('data', p.onData);
    socket.on('end', p.onGone);
    socket.on('close', p.onGone);
    socket.on('error', p.onGone);
    socket.resume();
    // A real client sends its whole first packet at once and then waits; one that is still
    // sending it after authentication_timeout is refused now rather than holding a child later.
    if (this.cfg.authentication_timeout > 0) {
      p.timer = setTimeout(
        () => {
          if (p.state !== 'waiting' || readStartupPacket(p.initial).state === 'done') return;
          this.log.info({ peer: socket.remoteAddress }, 'authentication timeout while waiting for a child');
          socket.end(errorResponse(authTimeout()));
          this.forget(p);
        },
        durationMs(this.cfg, 'authentication_timeout'),
      );
    }
  }

  private onWaitingBytes(p: Pending, chunk: Buffer): void {
    p.initial = p.initial.length === 0 ? chunk : Buffer.concat([p.initial, chunk]);
    if (p.initial.length > MAX_FIRST_BYTES) {
      // A waiting client sends nothing after its startup packet; more is garbage.
      p.socket.destroy();
      this.forget(p);
      return;
    }
    // A first packet that is already wrong is refused now, not after the wait for a child.
    const first = readStartupPacket(p.initial);
    if (first.state === 'error') {
      p.socket.end(errorResponse(first.error));
      this.forget(p);
      return;
    }
    if (p.initial.length < 8 || p.initial.readInt32BE(4) !== CANCEL_REQUEST_CODE) return;
    const len = p.initial.readInt32BE(0);
    if (len < 12 || len > 12 + MAX_CANCEL_KEY_LENGTH) {
      p.socket.destroy();
      this.forget(p);
    } else if (p.initial.length >= len) {
      p.socket.destroy();
      this.forget(p);
      this.forwardCancel(p.initial.readInt32BE(8), p.initial.toString('hex', 12, len));
    }
  }

  /** Every cancel request ends here, whether the supervisor or a worker read it. */
  private forwardCancel(pid: number, key: string): void {
    if (this.cfg.log_client_messages) this.log.info({ detail: `process id: ${pid}` }, 'Cancel message from frontend.');
    const target = this.cancels.find(pid, key);
    if (!target) {
      this.counters.cancelsUnknown++;
      this.log.info({ pid }, 'invalid cancel key');
      return;
    }
    this.counters.cancelsForwarded++;
    this.log.info({ pid, backend: `${target.host}:${target.port}` }, 'forwarding cancel request to backend');
    sendCancel(target).catch((e) => this.log.warn(`could not forward cancel request: ${(e as Error).message}`));
  }

  private rejectQueueFull(p: Pending): void {
    this.counters.rejectedQueueFull++;
    this.log.warn({ waiting: this.queue.length }, 'Sorry, too many clients already (wait queue full)');
    p.socket.end(errorResponse(tooManyWaiting(this.queue.length)));
    this.forget(p);
  }

  private dispatch(p: Pending, w: number): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.waitingSince !== undefined) this.waitSeconds?.observe((performance.now() - p.waitingSince) / 1000);
    p.state = 'sent';
    if (p.onData) {
      // socket.pause() does not stop libuv reading, and after the handle is sent its reads
      // are dropped: stop reading at the handle, so the worker gets every later byte.
      stopReading(p.socket);
      p.socket.off('data', p.onData);
      p.socket.off('end', p.onGone!);
      p.socket.off('close', p.onGone!);
      p.socket.off('error', p.onGone!);
    }
    this.table.dispatched(w, p.id);
    const lost = (why: string) => {
      this.log.warn({ worker: w, connId: p.id }, `could not hand a client to its worker: ${why}`);
      this.table.settled(w, p.id);
      p.socket.destroy();
      this.connFinished(p.id);
    };
    if (
      !this.toWorker(w, { t: 'client', connId: p.id, initial: p.initial.toString('base64') }, p.socket, (e) =>
        lost(e.message),
      )
    )
      lost('worker not running');
  }

  private drainQueue(): void {
    while (this.queue.length > 0) {
      const w = chooseWorker(this.table.freeByWorker(this.workerCount));
      if (w < 0) return;
      this.dispatch(this.queue.shift()!, w);
    }
  }

  /** A client that left (or was refused) before it reached a child. */
  private forget(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.state === 'sent') return;
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    p.state = 'sent';
    this.connFinished(p.id);
  }

  /**
   * pgpool's sizing rule, checked once at start when the backend is reachable: every
   * child may hold max_pool connections, so PostgreSQL must allow num_init_children × max_pool.
   */
  private async checkBackendCapacity(): Promise<void> {
    const target = backendTarget(this.cfg);
    if (!target) return;
    const user = nodeValue(this.cfg.health_check_user, target.node) || 'postgres';
    const database = nodeValue(this.cfg.health_check_database, target.node) || 'postgres';
    const password = nodeValue(this.cfg.health_check_password, target.node);
    try {
      const key = sortedStartupPacket(PROTOCOL_3_0, [
        ['user', user],
        ['database', database],
        ['application_name', 'pgpool-ts'],
      ]);
      const { conn } = await BackendConnection.open(target, key, user, database, async () => password || undefined);
      try {
        const [[max, reserved]] = await conn.query(
          "select current_setting('max_connections'), current_setting('superuser_reserved_connections')",
          10_000,
        );
        const warning = capacityWarning(this.cfg, Number(max), Number(reserved));
        if (warning) this.log.warn(warning);
      } finally {
        conn.close();
      }
    } catch (e) {
      this.log.info(`could not check the backend's max_connections (as user "${user}"): ${(e as Error).message}`);
    }
  }

  /** Dynamic process management: one pgpool check (§2.2). */
  private checkSpareChildren(): void {
    if (this.stopping || this.cfg.process_management_mode !== 'dynamic') {
      this.highLoadCounter = 0;
      return;
    }
    const free = this.table.freeByWorker(this.workerCount).reduce((a, b) => a + Math.max(0, b), 0);
    const r = spareCheck(this.table.size, free, this.highLoadCounter, this.cfg);
    this.highLoadCounter = r.highLoadCounter;
    if (r.decision.kind === 'spawn') {
      for (let i = 0; i < r.decision.count; i++) this.spawnChild();
      this.log.info(
        { spawned: r.decision.count, children: this.table.size },
        'spawned children to keep min_spare_children idle',
      );
      this.drainQueue();
    } else if (r.decision.kind === 'retire') {
      const candidates = this.table.retirable(this.workerCount);
      for (const id of selectVictims(candidates, r.decision.count, this.cfg.process_management_strategy)) {
        const rec = this.table.children.get(id)!;
        this.log.info({ child: id }, 'asking child to exit to satisfy max_spare_children');
        this.toWorker(rec.workerId, { t: 'retire', childId: id });
      }
    }
  }

  /** Live children, and how many have a client. */
  get childCounts(): { total: number; busy: number } {
    return { total: this.table.size, busy: this.table.busy };
  }

  /** Clients waiting for a child right now. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Sends every live worker a request and collects one answer from each (those that do
   * not answer within `timeoutMs` are left out): reports for SHOW/PCP, metrics for /metrics.
   */
  private askWorkers<T>(request: (reqId: number) => ToWorker, timeoutMs: number): Promise<T[]> {
    const reqId = this.nextRequestId++;
    const asked = this.workers.map((_, w) => w).filter((w) => this.toWorker(w, request(reqId)));
    return new Promise((resolve) => {
      const got: T[] = [];
      const done = () => {
        clearTimeout(timer);
        this.workerAnswers.delete(reqId);
        resolve(got);
      };
      const timer = setTimeout(done, timeoutMs);
      this.workerAnswers.set(reqId, (answer) => {
        got.push(answer as T);
        if (got.length === asked.length) done();
      });
      if (asked.length === 0) done();
    });
  }

  /** A ChildReport of every child, from every worker (PCP, SHOW pool_*). */
  async report(): Promise<ChildReport[]> {
    const perWorker = await this.askWorkers<ChildReport[]>((reqId) => ({ t: 'report', reqId }), 5000);
    return perWorker.flat().sort((a, b) => a.childId - b.childId);
  }

  /**
   * One scrape: the supervisor's and every worker's prom-client metrics merged
   * (AggregatorRegistry sums equal series), then pgpool2_exporter's from the reports.
   */
  private async scrape(own: client.Registry): Promise<string> {
    const [mine, theirs, children] = await Promise.all([
      own.getMetricsAsJSON(),
      this.askWorkers<object[]>((reqId) => ({ t: 'metrics', reqId }), 2000),
      this.report(),
    ]);
    const merged = client.AggregatorRegistry.aggregate([mine, ...theirs]);
    return (await merged.metrics()) + exporterMetricsText(this.cfg, children, this.startedAt);
  }

  private pcpDeps(): PcpDeps {
    return {
      users: () => loadPcpConf(this.files.pcp).users,
      nodes: () => backendNodes(this.cfg, this.startedAt),
      report: () => this.report(),
      maxPool: () => this.cfg.max_pool,
      numInitChildren: () => this.cfg.num_init_children,
      poolStatus: () => poolStatusItems(this.cfg, this.startedAt),
      healthCheckStats: (node) => healthCheckRow(this.cfg, node, this.startedAt),
      clientVersion: () => this.cfg.pcp_client_version as PcpClientVersion,
      reload: () => this.reload(),
      stop: (mode) => setImmediate(() => void this.shutdown(mode)),
      log: () => this.log,
    };
  }

  private installSignals(): void {
    process.on('SIGTERM', () => void this.shutdown('smart'));
    process.on('SIGINT', () => void this.shutdown('fast'));
    process.on('SIGQUIT', () => void this.shutdown('immediate'));
    process.on('SIGHUP', () => this.reload());
  }

  private currentStatus(): string {
    return statusLine(this.table.size, this.table.busy, this.queue.length);
  }

  reload(): void {
    // A log file moved away (logrotate) is reopened under its name before anything is logged.
    this.logging.output.reopen();
    this.log.info('reload config files.');
    void this.systemd.send({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() });
    try {
      this.applyReload();
    } finally {
      void this.systemd.send({ READY: '1', STATUS: this.currentStatus() });
    }
  }

  private applyReload(): void {
    const next = loadConfig(this.loaded.file);
    const errors = next.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      for (const d of errors) this.log.warn(formatDiagnostic(d));
      this.log.warn('configuration not reloaded: the running configuration is kept');
      return;
    }
    const plan = planReload(this.cfg, next);
    this.cfg = plan.config;
    this.loaded = { ...next, config: plan.config };
    this.logging.output.configure(logOutputSettings(this.cfg, path.dirname(this.loaded.file)));
    this.log = this.makeLogger();
    for (let w = 0; w < this.workers.length; w++) this.toWorker(w, { t: 'reload', config: this.workerConfig() });
    if (plan.changed.length > 0) this.log.info({ changed: plan.changed }, 'reloaded parameters');
    for (const name of plan.needRestart)
      this.log.warn(`parameter "${name}" changed but takes effect only after a restart; the running value is kept`);
  }

  async shutdown(mode: StopMode): Promise<void> {
    if (this.stopping) {
      this.log.info(`shutdown (${mode}) requested while a ${this.stopping} shutdown is in progress`);
      if (mode !== 'smart' && this.stopping === 'smart') {
        this.stopping = mode;
        for (let w = 0; w < this.workers.length; w++) this.toWorker(w, { t: 'shutdown', mode });
      }
      return;
    }
    this.stopping = mode;
    if (this.spareTimer) clearInterval(this.spareTimer);
    void this.systemd.send({ STOPPING: '1', STATUS: `${mode} shutdown in progress` });
    this.log.info({ mode }, `received ${mode} shutdown request`);
    this.listeners?.close();
    for (const m of this.metricsServers) m.close();
    this.pcp?.close();
    for (const p of [...this.pending.values()]) {
      if (p.state === 'sent') continue;
      if (mode === 'fast') p.socket.end(errorResponse(adminShutdown()));
      else p.socket.destroy();
      this.forget(p);
    }
    if (this.workers.every((p) => p === undefined)) return this.finishShutdown();
    for (let w = 0; w < this.workers.length; w++) this.toWorker(w, { t: 'shutdown', mode });
    if (mode === 'immediate') {
      setTimeout(() => {
        for (const p of this.workers) p?.kill('SIGKILL');
      }, 2000).unref();
    }
  }

  private async finishShutdown(): Promise<void> {
    removePidFile(this.pidFile);
    await this.systemd.flush();
    this.log.info('pgpool-ts is shut down');
    this.logging.output.close();
    this.resolveExit(0);
  }
}
