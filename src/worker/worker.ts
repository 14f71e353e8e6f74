// Worker process entry: hosts children, takes client sockets from the supervisor,
// reports every child's state back. Started by the supervisor with child_process.fork.
import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { HbaEnv } from '../auth/hba-match.js';
import { readPoolKey } from '../auth/pool-key.js';
import { loadPoolHba, type HbaRecord } from '../config/pool-hba.js';
import { loadPoolPasswd, findPoolPasswd, poolPasswdFile, type PoolPasswdEntry } from '../config/pool-passwd.js';
import { durationMs } from '../config/accessors.js';
import type { PgpoolConfig } from '../config/schema.js';
import { decodeConfig, type ChildExitReason, type FromWorker, type ToWorker } from '../ipc/messages.js';
import { configuredLogger, type Logger } from '../logging/logger.js';
import { errorResponse } from '../protocol/backend-write.js';
import { sortedStartupPacket } from '../protocol/frontend-read.js';
import { adminShutdown, tooManyClients } from '../protocol/errors.js';
import type { BackendConnection, BackendTarget } from '../backend/server-connection.js';
import { backendTarget } from '../backend/address.js';
import { Child, exitAfterSession, lifeTimeDelay, pickChild } from './child.js';
import type { ChildReport, SlotReport } from '../admin/process-report.js';
import { answerAdminQuery, type Report } from '../admin/show-commands.js';
import { peerOf, Session } from './session/session.js';
import { clientTls, type ClientTls } from '../protocol/tls.js';
import { workerRegistry } from '../metrics/worker-metrics.js';
import { readClientStartup } from './session/startup-reader.js';

/** Idle time before the first keepalive probe on a client connection. */
const CLIENT_KEEPALIVE_MS = 60_000;

class Worker {
  private cfg!: PgpoolConfig;
  private configFile = '';
  private hbaFile = '';
  private poolKeyFile = '';
  private poolKey: string | undefined;
  private clientTls: ClientTls | undefined;
  private nextAdminId = 1;
  /** What the metrics count beyond the live children (exited children, ended sessions). */
  private readonly totals = {
    cache: { hits: 0, misses: 0, evictions: 0 },
    sessions: new Map<string, number>(),
    childExits: new Map<string, number>(),
    fromClients: 0,
    toClients: 0,
  };
  private readonly metrics = workerRegistry(
    {
      cache: () => {
        const c = { ...this.totals.cache };
        for (const child of this.children.values()) {
          c.hits += child.cache.stats.hits;
          c.misses += child.cache.stats.misses;
          c.evictions += child.cache.stats.evictions;
        }
        return c;
      },
      sessions: () => this.totals.sessions,
      childExits: () => this.totals.childExits,
      bytes: () => {
        let fromClients = this.totals.fromClients;
        let toClients = this.totals.toClients;
        for (const child of this.children.values()) {
          fromClients += child.session?.relay?.bytesFromClient ?? 0;
          toClients += child.session?.relay?.bytesToClient ?? 0;
        }
        return { fromClients, toClients };
      },
    },
    `worker ${process.env.PGPOOL_TS_WORKER ?? '?'}`,
  );
  private readonly adminWaiters = new Map<number, { resolve: (r: Report) => void; reject: (e: Error) => void }>();

  private hba: { records: readonly HbaRecord[]; broken: boolean } | undefined;
  private hbaEnv: HbaEnv = {
    sslEnabled: false,
    interfaces: Object.values(os.networkInterfaces()).flatMap((list) =>
      (list ?? []).map((i) => ({ address: i.address, prefix: Number(i.cidr?.split('/')[1] ?? 0) })),
    ),
    hostnameOf: verifiedHostname,
    note: (r, why) => this.log.debug(`pool_hba.conf line ${r.line}: ${why}`),
  };
  private workerId = -1;
  private log!: Logger;
  private target: BackendTarget | undefined;
  private passwd: readonly PoolPasswdEntry[] = [];
  private readonly children = new Map<number, Child>();
  private shuttingDown: 'smart' | 'fast' | 'immediate' | undefined;
  /** Once a second: client_idle_limit for every session (reloadable, so read each time). */
  private readonly janitor = setInterval(() => {
    const now = performance.now();
    for (const child of this.children.values()) child.session?.enforceIdleLimit(now);
  }, 1000).unref();

  /** A SHOW pool_* report from the supervisor, which sees every worker's children. */
  private askSupervisor(name: string): Promise<Report> {
    return new Promise((resolve, reject) => {
      const reqId = this.nextAdminId++;
      const timer = setTimeout(() => {
        this.adminWaiters.delete(reqId);
        reject(new Error('no answer from the supervisor'));
      }, 10_000);
      this.adminWaiters.set(reqId, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send({ t: 'adminQuery', reqId, name });
    });
  }

  send(m: FromWorker): void {
    // Messages of one event-loop turn leave in one write: a pipe write is a system call.
    if (this.outbox.push(m) === 1) setImmediate(this.flushOutbox);
  }

  private readonly outbox: FromWorker[] = [];
  private readonly flushOutbox = () => {
    const messages = this.outbox.splice(0);
    process.send?.(messages.length === 1 ? messages[0] : { t: 'batch', messages });
  };

  handle(m: ToWorker, socket?: net.Socket): void {
    switch (m.t) {
      case 'init':
        this.workerId = m.workerId;
        this.configFile = m.configFile;
        this.hbaFile = m.hbaFile;
        this.poolKeyFile = m.poolKeyFile;
        this.apply(decodeConfig(m.config));
        this.send({ t: 'ready', workerId: m.workerId });
        return;
      case 'reload':
        this.apply(decodeConfig(m.config));
        for (const child of this.children.values()) child.session?.settingsChanged();
        return;
      case 'spawn': {
        const child = new Child(m.childId, this.cfg);
        this.children.set(child.id, child);
        this.send({ t: 'childStarted', childId: child.id });
        return;
      }
      case 'retire': {
        const child = this.children.get(m.childId);
        if (child && !child.busy) this.exitChild(child, 'retired', 'asked to exit by the supervisor');
        return;
      }
      case 'client':
        if (socket) void this.serve(m.connId, socket, Buffer.from(m.initial, 'base64'));
        else {
          this.log.warn({ connId: m.connId }, 'client message arrived without its socket');
          this.send({ t: 'clientLost', connId: m.connId });
        }
        return;
      case 'shutdown':
        this.shutdown(m.mode);
        return;
      case 'adminAnswer': {
        const waiter = this.adminWaiters.get(m.reqId);
        this.adminWaiters.delete(m.reqId);
        if (m.report) waiter?.resolve(m.report);
        else waiter?.reject(new Error(m.error ?? 'no answer'));
        return;
      }
      case 'metrics':
        void this.metrics.registry.getMetricsAsJSON().then((json) => this.send({ t: 'metrics', reqId: m.reqId, json }));
        return;
      case 'report':
        this.send({
          t: 'report',
          reqId: m.reqId,
          children: [...this.children.values()].map((c) => childReport(c, performance.now())),
        });
        return;
    }
  }

  private apply(cfg: PgpoolConfig): void {
    this.cfg = cfg;
    this.log = configuredLogger(`pgpool-ts worker ${this.workerId}`, cfg);
    this.target = backendTarget(cfg);
    this.passwd = [];
    if (cfg.pool_passwd !== '') {
      const file = poolPasswdFile(this.configFile, cfg.pool_passwd);
      const r = loadPoolPasswd(file);
      // A missing pool_passwd is normal (trust set-ups); a broken one is reported.
      if (r.diagnostics.some((d) => d.line > 0))
        for (const d of r.diagnostics) this.log.warn(`${d.file}:${d.line}: ${d.message}`);
      this.passwd = r.entries;
    }
    // The key is needed only for AES entries; without it they fail with pgpool's error.
    this.poolKey = undefined;
    if (this.passwd.some((e) => e.kind === 'aes')) {
      const k = readPoolKey(this.poolKeyFile);
      if (k.problem) this.log.warn(k.problem);
      this.poolKey = k.key;
    }
    this.hba = undefined;
    if (cfg.enable_pool_hba) {
      const h = loadPoolHba(this.hbaFile);
      for (const d of h.diagnostics) this.log.error(`${d.file}:${d.line}: ${d.message}`);
      this.hba = { records: h.records, broken: h.diagnostics.length > 0 };
    }
    this.hbaEnv = { ...this.hbaEnv, sslEnabled: cfg.ssl };
    if (!cfg.ssl) this.clientTls = undefined;
    else {
      try {
        this.clientTls = clientTls(cfg, path.dirname(this.configFile));
      } catch (e) {
        // The supervisor checked it at start; a reload that breaks it keeps the last good one.
        this.log.error(`TLS not (re)configured, keeping the previous setting: ${(e as Error).message}`);
      }
    }
  }

  private async serve(connId: number, socket: net.Socket, initial: Buffer): Promise<void> {
    // As pgpool (SO_KEEPALIVE): a client that vanished without a FIN (half-open TCP) is
    // found by the kernel's keepalive probes instead of holding its child forever.
    socket.setKeepAlive?.(true, CLIENT_KEEPALIVE_MS);
    socket.on('error', () => {});
    const startup = await readClientStartup(
      socket,
      initial,
      durationMs(this.cfg, 'authentication_timeout'),
      this.clientTls,
    );
    if (!startup.ok || startup.packet.kind !== 'startup') {
      if (!startup.ok) this.log.debug({ connId }, startup.reason);
      else if (startup.packet.kind === 'cancel')
        this.send({ t: 'cancelRequest', pid: startup.packet.pid, key: startup.packet.key.toString('hex') });
      socket.destroy();
      this.send({ t: 'clientLost', connId });
      return;
    }
    const p = startup.packet;
    const idle = [...this.children.values()].filter((c) => !c.busy);
    const cacheKey = sortedStartupPacket(p.version, p.params);
    const child = pickChild(idle, p.user, p.database, cacheKey);
    if (!child || this.shuttingDown) {
      socket.end(errorResponse(this.shuttingDown ? adminShutdown() : tooManyClients()));
      this.send({ t: 'clientLost', connId });
      return;
    }
    if (child.lifeTimer) clearTimeout(child.lifeTimer);
    socket = startup.socket;
    const session = new Session(socket, p, cacheKey, startup.rest, child.cache, {
      config: () => this.cfg,
      target: this.target,
      passwd: (user) => findPoolPasswd(this.passwd, user),
      poolKey: this.poolKey,
      hba: this.hba,
      hbaEnv: this.hbaEnv,
      admin: (query) => answerAdminQuery(query, (name) => this.askSupervisor(name)),
      observe: {
        connect: (s) => this.metrics.connectSeconds.observe(s),
        reset: (s) => this.metrics.resetSeconds.observe(s),
      },
      durations: (database) => ({
        queries: this.metrics.queries.of(database),
        transactions: this.metrics.transactions.of(database),
      }),
      started: (pid, key, conn) =>
        this.send({
          t: 'childBusy',
          childId: child.id,
          connId,
          cancel: {
            pid,
            key: key.toString('hex'),
            target: {
              host: conn.target.host,
              port: conn.target.port,
              pid: conn.pid,
              secret: conn.secret.toString('hex'),
            },
          },
        }),
      log: () => this.log,
    });
    child.session = session;
    const t0 = Date.now();
    if (this.cfg.log_connections) void this.logConnection(child.id, p.user, p.database, socket);
    const result = await session.run();
    bump(this.totals.sessions, result.end);
    this.totals.fromClients += session.relay?.bytesFromClient ?? 0;
    this.totals.toClients += session.relay?.bytesToClient ?? 0;
    child.session = undefined;
    child.sessions++;
    child.idleSince = Date.now();
    if (this.cfg.log_disconnections) {
      this.log.info(
        {
          child: child.id,
          user: p.user,
          database: p.database,
          peer: peerOf(socket),
          backendPid: result.backendPid,
          reused: result.reused,
          cached: result.cached,
          end: result.end,
          ms: Date.now() - t0,
        },
        'frontend disconnection',
      );
    }
    const reason = this.shuttingDown ? 'shutdown' : exitAfterSession(child.sessions, this.cfg);
    if (reason) {
      this.exitChild(
        child,
        reason,
        reason === 'max_connections' ? `child exiting, ${child.sessions} connections reached` : 'shutting down',
        connId,
      );
      return;
    }
    this.send({ t: 'childFree', childId: child.id, connId, pooled: child.cache.entries.length });
    const delay = lifeTimeDelay(child.sessions, this.cfg);
    if (delay !== undefined) {
      child.lifeTimer = setTimeout(() => {
        if (!child.busy) this.exitChild(child, 'life_time', `child life ${this.cfg.child_life_time} seconds expired`);
      }, delay);
      child.lifeTimer.unref();
    }
  }

  /** log_connections, with the client's host name when log_hostname is on (a reverse lookup, a second at most). */
  private async logConnection(child: number, user: string, database: string, socket: net.Socket): Promise<void> {
    const address = socket.remoteAddress;
    let host: string | undefined;
    if (this.cfg.log_hostname && address) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      host = await Promise.race([
        hostNameOf(address),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 1000))),
      ]);
      clearTimeout(timer);
    }
    this.log.info({ child, user, database, peer: peerOf(socket), host }, 'new connection received');
  }

  private exitChild(child: Child, reason: ChildExitReason, message: string, connId?: number): void {
    if (!this.children.delete(child.id)) return;
    bump(this.totals.childExits, reason);
    for (const k of ['hits', 'misses', 'evictions'] as const) this.totals.cache[k] += child.cache.stats[k];
    if (child.lifeTimer) clearTimeout(child.lifeTimer);
    child.cache.clear();
    if (reason === 'max_connections') this.log.info({ child: child.id }, message);
    else this.log.debug({ child: child.id }, message);
    this.send({ t: 'childExit', childId: child.id, connId, reason, message });
    if (this.shuttingDown) this.maybeExit();
  }

  private shutdown(mode: 'smart' | 'fast' | 'immediate'): void {
    this.shuttingDown = mode;
    for (const child of [...this.children.values()]) {
      if (!child.busy) this.exitChild(child, 'shutdown', 'shutting down');
      else if (mode !== 'smart') child.session!.stop('shutdown', mode === 'fast' ? adminShutdown() : undefined);
    }
    this.maybeExit();
  }

  private maybeExit(): void {
    if (this.children.size > 0) return;
    // Let the Terminate messages to PostgreSQL and the last IPC messages go out.
    setTimeout(() => process.exit(0), 50);
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function slotOf(conn: BackendConnection, connected: boolean): SlotReport {
  return {
    database: conn.database,
    user: conn.user,
    backendPid: conn.pid,
    createdAt: conn.createdAt,
    counter: conn.timesUsed,
    connected,
    protocolMajor: conn.startupKey.readUInt16BE(4),
    protocolMinor: conn.startupKey.readUInt16BE(6),
  };
}

/** pgpool's view of a child (§1.4 statuses from the relay's counters); `now` from performance.now(). */
function childReport(c: Child, now: number): ChildReport {
  const s = c.session;
  const relay = s?.relay;
  const status: ChildReport['status'] = !s
    ? 'Wait for connection'
    : !relay || !s.conn
      ? 'Connecting'
      : relay.fe.readyRequests > relay.be.readyCount
        ? 'Execute command'
        : relay.be.txStatus === 0x54
          ? 'Idle in transaction'
          : 'Idle';
  const slots = c.cache.entries.map((conn) => slotOf(conn, false));
  if (s?.conn) slots.unshift(slotOf(s.conn, true));
  return {
    childId: c.id,
    startedAt: c.startedAt,
    sessions: c.sessions,
    status,
    slots,
    clientConnectedAt: s?.startedAt,
    clientDisconnectedAt: c.sessions > 0 ? c.idleSince : undefined,
    clientHost: s?.clientAddress,
    clientPort: s?.clientPort,
    clientIdleMs: relay ? relay.clientIdleFor(now) : undefined,
  };
}

/** An address's host name by getnameinfo, as PostgreSQL looks it up (/etc/hosts counts, not only DNS). */
async function hostNameOf(address: string): Promise<string | undefined> {
  try {
    const { hostname } = await dns.lookupService(address, 0);
    return hostname === address ? undefined : hostname;
  } catch {
    return undefined;
  }
}

/** The client's host name by reverse lookup, kept only when a forward lookup of it gives the address back. */
async function verifiedHostname(address: string): Promise<string | undefined> {
  try {
    const name = await hostNameOf(address);
    if (!name) return undefined;
    const forward = await dns.lookup(name, { all: true });
    return forward.some((a) => a.address === address) ? name : undefined;
  } catch {
    return undefined;
  }
}

const worker = new Worker();
process.on('message', (m: ToWorker, handle?: unknown) => worker.handle(m, handle as net.Socket | undefined));
process.on('disconnect', () => process.exit(0));
