// What the supervisor serves about itself: /metrics (its own, every worker's and
// pgpool2_exporter's families), the PCP server, and the SHOW pool_* reports a worker asks
// for. Reports are built from the workers' ChildReports and the node table's snapshot.
import type http from 'node:http';
import path from 'node:path';
import type client from 'prom-client';
import { backendNodes, healthCheckRow, poolStatusItems, type ClusterView } from '../admin/admin-views.js';
import type { PcpClientVersion } from '../admin/pcp-protocol.js';
import { pcpConnections } from '../admin/pcp-server.js';
import type { ChildReport } from '../admin/process-report.js';
import { buildReport, type Report } from '../admin/show-commands.js';
import { waitingReport, type WaitingClient } from '../admin/waiting-report.js';
import { sumCounts, type NodeCounts } from '../admin/statement-counts.js';
import { loadPcpConf } from '../config/pcp-conf.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { FromWorker, StopMode } from '../ipc/messages.js';
import type { Logger } from '../logging/logger.js';
import type { SupervisorState } from '../metrics/supervisor-metrics.js';
import { openListeners } from './listeners.js';
import type { WorkerPool } from './worker-pool.js';

type SupervisorMetricsModule = typeof import('../metrics/supervisor-metrics.js');

const REPORT_TIMEOUT_MS = 5000;
const METRICS_TIMEOUT_MS = 2000;
/** A scrape thrown away this long after start, so Prometheus's first one costs what later ones do. */
const WARM_UP_SCRAPE_MS = 2000;

export interface AdminDeps {
  config(): PgpoolConfig;
  log(): Logger;
  view(): ClusterView;
  readonly workers: WorkerPool;
  readonly configDir: string;
  readonly pcpFile: string;
  readonly state: SupervisorState;
  /** The children reserved for admin_users now. */
  reservedChildren(): ReadonlySet<number>;
  /** The clients waiting for a child. */
  waitingClients(): WaitingClient[];
  reload(): void;
  shutdown(mode: StopMode): void;
  /** PCP's node requests (cluster/cluster-monitor.ts). */
  readonly nodeRequests: {
    attach(id: number): string | undefined;
    detach(id: number, graceful: boolean): Promise<string | undefined>;
    promote(
      id: number,
      switchover: boolean,
      graceful: boolean,
    ): Promise<{ severity: 'ERROR' | 'FATAL'; message: string; detail?: string } | undefined>;
  };
}

export class AdminEndpoints {
  private metricsServers: http.Server[] = [];
  private pcp: { close: () => void } | undefined;
  /** The client wait histogram, once /metrics is on. */
  waitSeconds: client.Histogram | undefined;

  constructor(private readonly d: AdminDeps) {}

  /** A ChildReport of every child and the statement counts, from every worker (PCP, SHOW pool_*, metrics). */
  async gather(): Promise<{ children: ChildReport[]; counts: NodeCounts }> {
    const answers = await this.d.workers.ask<Extract<FromWorker, { t: 'report' }>>(
      (reqId) => ({ t: 'report', reqId }),
      REPORT_TIMEOUT_MS,
    );
    const reserved = this.d.reservedChildren();
    const children = answers.flatMap((a) => a.children).sort((a, b) => a.childId - b.childId);
    return {
      children: reserved.size === 0 ? children : children.map((c) => ({ ...c, reserved: reserved.has(c.childId) })),
      counts: sumCounts(answers.map((a) => a.counts)),
    };
  }

  async report(): Promise<ChildReport[]> {
    return (await this.gather()).children;
  }

  /** SHOW `name` for a worker's client. */
  async showReport(name: string): Promise<Report> {
    if (name === 'pool_waiting') return waitingReport(this.d.waitingClients());
    const { children, counts } = await this.gather();
    return buildReport(name, this.d.view(), children, counts);
  }

  async start(): Promise<void> {
    const cfg = this.d.config();
    if (cfg.metrics_port > 0) await this.startMetrics(cfg);
    const log = this.d.log();
    this.pcp = await openListeners(
      {
        addresses: cfg.pcp_listen_addresses,
        port: cfg.pcp_port,
        socketDirs: cfg.pcp_socket_dir.map((dir) => path.resolve(this.d.configDir, dir)),
        // pgpool's PCP socket files are 0777, owned by its group.
        socketPermissions: 0o777,
        socketGroup: '',
      },
      pcpConnections({
        users: () => loadPcpConf(this.d.pcpFile).users,
        nodes: () => backendNodes(this.d.view()),
        report: () => this.report(),
        maxPool: () => this.d.config().max_pool,
        numInitChildren: () => this.d.config().num_init_children,
        poolStatus: () => poolStatusItems(this.d.view()),
        healthCheckStats: (node) => healthCheckRow(this.d.view(), node),
        clientVersion: () => this.d.config().pcp_client_version as PcpClientVersion,
        reload: () => this.d.reload(),
        attachNode: (id) => this.d.nodeRequests.attach(id),
        detachNode: (id, graceful) => this.d.nodeRequests.detach(id, graceful),
        promoteNode: (id, switchover, graceful) => this.d.nodeRequests.promote(id, switchover, graceful),
        stop: (mode) => setImmediate(() => this.d.shutdown(mode)),
        log: () => this.d.log(),
      }),
      // pgpool refuses to start; pgpool-ts serves clients without PCP on that address.
      (m) => log.error(`PCP: ${m}; clients are served, the pcp_* tools cannot reach this address`),
    );
  }

  close(): void {
    for (const m of this.metricsServers) m.close();
    this.pcp?.close();
  }

  private async startMetrics(cfg: PgpoolConfig): Promise<void> {
    // Loaded only when /metrics is on: prom-client and its dependencies are a few MB of
    // heap in every process that imports them.
    const metrics = await import('../metrics/supervisor-metrics.js');
    const { registry, waitSeconds } = metrics.supervisorRegistry(this.d.state);
    this.waitSeconds = waitSeconds;
    const addresses = cfg.metrics_listen_addresses
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    try {
      const scrape = () => this.scrape(registry, metrics);
      this.metricsServers = await metrics.serveMetrics(scrape, addresses, cfg.metrics_port);
      // Compiles the scrape's code paths (~10 ms with 1000 children instead of ~60 for the first).
      setTimeout(() => void scrape().catch(() => {}), WARM_UP_SCRAPE_MS).unref();
    } catch (e) {
      this.d
        .log()
        .warn(
          `could not serve /metrics on ${cfg.metrics_listen_addresses}:${cfg.metrics_port}: ${(e as Error).message}`,
        );
    }
  }

  /**
   * One scrape: the supervisor's and every worker's prom-client metrics merged
   * (AggregatorRegistry sums equal series), then pgpool2_exporter's from the reports.
   */
  private async scrape(own: client.Registry, metrics: SupervisorMetricsModule): Promise<string> {
    const [mine, theirs, { children, counts }] = await Promise.all([
      own.getMetricsAsJSON(),
      this.d.workers.ask<Extract<FromWorker, { t: 'metrics' }>>(
        (reqId) => ({ t: 'metrics', reqId }),
        METRICS_TIMEOUT_MS,
      ),
      this.gather(),
    ]);
    const merged = metrics.aggregate([mine, ...theirs.map((t) => t.json)]);
    return (await merged.metrics()) + metrics.exporterMetricsText(this.d.view(), children, counts);
  }
}
