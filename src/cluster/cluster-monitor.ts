// What keeps the node table's roles and replication figures current (supervisor side):
// the primary search at start, then the streaming replication check every
// sr_check_period; a reload that adds a node while no primary is known searches again.
import type { PgpoolConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { CredentialFiles } from './check-connection.js';
import type { NodeTable } from './node-table.js';
import { PrimarySearch } from './primary-search.js';
import { ReplicationCheck } from './replication-check.js';

export class ClusterMonitor {
  private readonly search: PrimarySearch;
  private readonly check: ReplicationCheck;
  private readonly table: NodeTable;

  constructor(deps: {
    readonly config: () => PgpoolConfig;
    readonly files: CredentialFiles;
    readonly table: NodeTable;
    readonly log: () => Logger;
  }) {
    this.search = new PrimarySearch(deps);
    this.check = new ReplicationCheck(deps);
    this.table = deps.table;
  }

  /** Starts the search; the first replication check follows it at once. */
  start(): void {
    void this.searchThenCheck();
  }

  private async searchThenCheck(): Promise<void> {
    await this.search.start();
    await this.check.round();
    this.check.schedule();
  }

  /** After a reload: sr_check_period may have changed; a new node may be the primary nobody found. */
  reloaded(nodesAdded: boolean): void {
    if (nodesAdded && this.table.primaryId === undefined) void this.searchThenCheck();
    else this.check.schedule();
  }

  stop(): void {
    this.search.stop();
    this.check.stop();
  }
}
