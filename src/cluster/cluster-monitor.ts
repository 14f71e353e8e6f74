// What keeps the node table current (supervisor side): the pgpool_status file read at
// start and written on every status change, the primary search at start, the streaming
// replication check every sr_check_period, the health check per node, and failover and
// failback (from the health check and PCP). A reload that adds a node while no primary is
// known searches again.
import { durationMs } from '../config/accessors.js';
import type { SlotAddress } from '../config/discovered-backends.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { NodeSnapshot } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';
import type { RestartScope } from '../policy/failover.js';
import type { CredentialFiles } from './check-connection.js';
import { Failover, type PromoteRefusal } from './failover.js';
import { HealthCheck, type HealthStats } from './health-check.js';
import type { NodeTable } from './node-table.js';
import { followsPatroni } from '../policy/clustering.js';
import { PatroniDiscovery } from './patroni-discovery.js';
import { PrimarySearch } from './primary-search.js';
import { ReplicationCheck } from './replication-check.js';
import { readStatusFile, StatusFile, statusFilePath } from './status-file.js';

/** How often a graceful detach looks whether clients are still connected (pgpool: every 3 s). */
const GRACEFUL_POLL_MS = 1000;

export interface ClusterDeps {
  readonly config: () => PgpoolConfig;
  readonly files: CredentialFiles;
  readonly table: NodeTable;
  readonly log: () => Logger;
  /** pgpool.conf's directory (logdir and work_dir are relative to it). */
  readonly configDir: string;
  /** -D: the status file is discarded, not read. */
  readonly discardStatus: boolean;
  /** Ends the sessions a node's change affects, in every worker. */
  readonly endSessions: (node: number, scope: RestartScope) => void;
  /** Following Patroni: members no backend names take these free slots. */
  readonly addBackends: (added: readonly SlotAddress[]) => void;
}

export class ClusterMonitor {
  private readonly search: PrimarySearch;
  private readonly check: ReplicationCheck;
  private readonly health: HealthCheck;
  readonly failover: Failover;
  private readonly statusFile: StatusFile;
  private readonly table: NodeTable;
  /** backend_discovery = patroni (start-only): Patroni, not pgpool-ts, decides roles and membership. */
  private readonly patroni: PatroniDiscovery | undefined;

  constructor(private readonly deps: ClusterDeps) {
    this.search = new PrimarySearch(deps);
    this.check = new ReplicationCheck({ ...deps, falsePrimary: (id) => this.nodeFailed(id) });
    this.table = deps.table;
    const file = () => statusFilePath(deps.config(), deps.configDir);
    this.statusFile = new StatusFile(file, deps.log);
    this.table.restore(readStatusFile(file(), deps.discardStatus, deps.log()));
    this.failover = new Failover({
      config: deps.config,
      table: deps.table,
      log: deps.log,
      searchPrimary: () => this.search.start(),
      endSessions: deps.endSessions,
    });
    this.patroni = followsPatroni(deps.config()) ? new PatroniDiscovery(deps) : undefined;
    this.health = new HealthCheck({
      ...deps,
      failed: (id, timedOut) => this.nodeFailed(id, timedOut),
      autoFailback: (id) => {
        const refusal = this.failover.attach(id);
        if (refusal) deps.log().info(refusal);
      },
      switching: () => this.failover.inProgress,
    });
  }

  /** The health check, a session or the replication check found node `id` failed: detach it (timedOut: health_check_timeout expired). */
  nodeFailed(id: number, timedOut = false): void {
    const refusal = this.failover.detach(id, { timedOut, automatic: true });
    if (refusal) this.deps.log().info(refusal);
  }

  /** pcp_attach_node: pgpool's refusal, or undefined when the failback is queued. */
  attach(id: number): string | undefined {
    return this.failover.attach(id);
  }

  /**
   * pcp_detach_node; graceful (-g): first waits, up to recovery_timeout, until no client is
   * connected, and answers when the failover is done (pgpool answers CommandComplete after
   * a timeout too).
   */
  async detach(id: number, graceful: boolean, clients: () => number): Promise<string | undefined> {
    if (graceful) {
      const refusal = this.failover.detachRefused(id);
      if (refusal) return refusal;
      await this.noClients(clients);
    }
    const refusal = this.failover.detach(id, { timedOut: false, automatic: false });
    if (!refusal && graceful) await this.failover.settled();
    return refusal;
  }

  /** pcp_promote_node [-g] [-s]: graceful first waits, as a graceful detach does, until no client is connected. */
  async promote(
    id: number,
    switchover: boolean,
    graceful: boolean,
    clients: () => number,
  ): Promise<PromoteRefusal | undefined> {
    if (graceful) await this.noClients(clients);
    const refusal = this.failover.promote(id, switchover);
    if (!refusal && graceful) await this.failover.settled();
    return refusal;
  }

  private async noClients(clients: () => number): Promise<void> {
    const until = Date.now() + durationMs(this.deps.config(), 'recovery_timeout');
    while (clients() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, GRACEFUL_POLL_MS));
  }

  /** Health-check counters of node `id`. */
  healthStats(id: number): HealthStats {
    return this.health.statsOf(id);
  }

  /** Every change of the node table (the supervisor sends it on to the workers too). */
  nodesChanged(nodes: NodeSnapshot): void {
    this.statusFile.update(nodes);
  }

  /** Starts the search (or, following Patroni, its polling); the first replication check follows it at once; the health check starts now. */
  start(): void {
    this.health.start();
    if (this.patroni) this.patroni.start();
    else void this.searchThenCheck();
  }

  private async searchThenCheck(): Promise<void> {
    await this.search.start();
    // pgpool writes the file at start after the primary search, whatever changed.
    this.statusFile.update(this.table.snapshot());
    await this.check.round();
    this.check.schedule();
  }

  /** After a reload: periods may have changed; a new node may be the primary nobody found. */
  reloaded(nodesAdded: boolean): void {
    this.health.reloaded();
    if (this.patroni) return;
    if (nodesAdded && this.table.primaryId === undefined) void this.searchThenCheck();
    else this.check.schedule();
  }

  stop(): void {
    this.search.stop();
    this.check.stop();
    this.health.stop();
    this.patroni?.stop();
  }
}
