// The primary search (docs/behaviour.md#primary-detection): pgpool's
// find_primary_node_repeatedly(). At start (and when a reload adds a node) every alive
// node is asked pg_is_in_recovery() as sr_check_user, once a second until a primary
// answers or search_primary_node_timeout passes. Unlike pgpool's main process it blocks
// nothing: until a primary is found, writes go to the main node (PRIMARY_NODE_ID).
import { durationMs } from '../config/accessors.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive, type ActualRole } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';
import { hasPrimary } from '../policy/clustering.js';
import { alwaysPrimary, choosePrimary, type NodeProbe } from '../policy/primary-choice.js';
import { simpleQuery } from '../backend/simple-query.js';
import { askNode, type CredentialFiles } from './check-connection.js';
import type { NodeTable } from './node-table.js';

const RETRY_MS = 1000;
const PROBE_QUERY = 'SELECT pg_catalog.pg_is_in_recovery()';

export interface PrimarySearchDeps {
  readonly config: () => PgpoolConfig;
  readonly files: CredentialFiles;
  readonly table: NodeTable;
  readonly log: () => Logger;
}

/** Asks each node in `ids` whether it is in recovery; a node that cannot be asked is invalid. */
export async function probeNodes(
  cfg: PgpoolConfig,
  files: CredentialFiles,
  ids: readonly number[],
  log: Logger,
  caller: string,
): Promise<NodeProbe[]> {
  return Promise.all(
    ids.map(async (id): Promise<NodeProbe> => {
      const r = await askNode(cfg, files, id, 'pgpool-ts primary search', async (conn, timeoutMs) => {
        const [[inRecovery]] = await simpleQuery(conn, PROBE_QUERY, timeoutMs);
        return inRecovery;
      });
      if (r.ok) return { id, result: r.value === 't' ? 'standby' : r.value === 'f' ? 'primary' : 'invalid' };
      const what = r.stage === 'connect' ? 'make_persistent_db_connection_noerror' : 'pg_is_in_recovery()';
      log.info({ node: id, error: r.error.message }, `${caller}: ${what} failed on node ${id}`);
      return { id, result: 'invalid' };
    }),
  );
}

export class PrimarySearch {
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private generation = 0;
  private stopped = false;

  constructor(private readonly deps: PrimarySearchDeps) {}

  /** Starts (or restarts) the search; resolves when it found a primary, gave up or was stopped. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    const cfg = this.deps.config();
    if (!hasPrimary(cfg.backend_clustering_mode)) return;
    const log = this.deps.log();
    const ids = this.deps.table
      .snapshot()
      .filter(isAlive)
      .map((n) => n.id);
    const flagged = alwaysPrimary((id) => nodeValue(cfg.backend_flag, id), ids);
    if (flagged !== undefined) {
      this.deps.table.setPrimary(flagged, new Map());
      log.info(`find_primary_node: ALWAYS_PRIMARY flag: primary node is ${flagged}`);
      return;
    }
    if (ids.length === 0) {
      log.info('find_primary_node_repeatedly: all of the backends are down. Giving up finding primary node');
      return;
    }
    if (cfg.sr_check_user === '') {
      // pgpool would try to log in with an empty user name once a second for
      // search_primary_node_timeout; pgpool-ts says once why it cannot search.
      log.warn(
        { param: 'sr_check_user' },
        `sr_check_user is not set: the primary cannot be searched for; writes go to the main node (node ${ids[0]})`,
      );
      return;
    }
    log.info('find_primary_node_repeatedly: waiting for finding a primary node');
    const timeoutMs = durationMs(cfg, 'search_primary_node_timeout');
    const began = Date.now();
    for (;;) {
      const probes = await probeNodes(cfg, this.deps.files, ids, log, 'find_primary_node');
      if (this.stopped || generation !== this.generation) return;
      const primary = choosePrimary(probes);
      const answers = new Map<number, ActualRole>(
        probes.map((p) => [p.id, p.result === 'invalid' ? 'unknown' : p.result]),
      );
      if (primary !== undefined) {
        // The table first: the workers hear of the primary before anyone reads these lines.
        this.deps.table.setPrimary(primary, answers);
        for (const p of probes) {
          const what =
            p.id === primary ? 'primary node is' : p.result === 'invalid' ? 'invalid node' : 'standby node is';
          log.info(`find_primary_node: ${what} ${p.id}`);
        }
        return;
      }
      this.deps.table.setPrimary(undefined, answers);
      if (timeoutMs > 0 && Date.now() - began + RETRY_MS > timeoutMs) {
        log.warn(
          { detail: `find_primary_node_repeatedly: expired after ${Math.round(timeoutMs / 1000)} seconds` },
          'failed to find primary node',
        );
        return;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        this.timer = setTimeout(r, RETRY_MS);
      });
      if (this.stopped || generation !== this.generation) return;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
