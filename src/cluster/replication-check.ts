// The streaming replication check (docs/behaviour.md#replication-check): pgpool's
// sr_check_worker loop, run by the supervisor every sr_check_period without blocking
// anything. Each round asks every alive node, as sr_check_user, whether it is in recovery
// and where its WAL is (the primary: written, a standby: replayed), reads the primary's
// pg_stat_replication, and gives the node table each standby's delay and states.
import { durationMs } from '../config/accessors.js';
import { configuredBackends } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive, type ActualRole } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';
import { measuresDelay } from '../policy/clustering.js';
import { conninfoHostPort, falsePrimaries, type WalReceiver } from '../policy/primary-choice.js';
import { lsnBytes, standbyDelayLine, standbyDelays, type ReplicationRow } from '../policy/replication-delay.js';
import { askNode, type CredentialFiles } from './check-connection.js';
import type { NodeTable, ReplicationFinding } from './node-table.js';
import { simpleQuery } from '../backend/simple-query.js';

const POSITION_QUERY =
  'SELECT pg_catalog.pg_is_in_recovery(), CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() END';
const STATS_QUERY =
  'SELECT application_name, state, sync_state, (EXTRACT(EPOCH FROM replay_lag) * 1000000)::BIGINT FROM pg_catalog.pg_stat_replication';

const WAL_RECEIVER_QUERY = 'SELECT status, conninfo FROM pg_catalog.pg_stat_wal_receiver';

export interface ReplicationCheckDeps {
  readonly config: () => PgpoolConfig;
  readonly files: CredentialFiles;
  readonly table: NodeTable;
  readonly log: () => Logger;
  /** detach_false_primary found node `id` claiming to be primary when it is not. */
  readonly falsePrimary?: (id: number) => void;
}

interface NodeAnswer {
  readonly id: number;
  readonly actualRole: ActualRole;
  readonly lsn?: number;
  readonly rows?: readonly ReplicationRow[];
  /** A standby's pg_stat_wal_receiver (detach_false_primary only). */
  readonly receiver?: WalReceiver;
}

export class ReplicationCheck {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly deps: ReplicationCheckDeps) {}

  /** Schedules the next round after sr_check_period (again after a reload changes it). */
  schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const periodMs = durationMs(this.deps.config(), 'sr_check_period');
    // sr_check_period = 0: no checks (pgpool's worker sleeps); a reload may turn them on.
    if (periodMs <= 0) return;
    this.timer = setTimeout(() => void this.round().finally(() => this.schedule()), periodMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One round (skipped while one is still running). */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.check();
    } catch (e) {
      this.deps.log().warn({ error: (e as Error).message }, 'streaming replication check failed');
    } finally {
      this.running = false;
    }
  }

  private async check(): Promise<void> {
    const cfg = this.deps.config();
    if (!measuresDelay(cfg.backend_clustering_mode) || cfg.sr_check_user === '') return;
    const nodes = this.deps.table.snapshot();
    const primary = this.deps.table.primaryId;
    // pgpool skips the round with one node, no known primary, or the primary down.
    if (nodes.length <= 1 || primary === undefined || !nodes.some((n) => n.id === primary && isAlive(n))) return;
    const log = this.deps.log();
    const answers = await Promise.all(nodes.filter(isAlive).map((n) => this.ask(cfg, n.id, n.id === primary, log)));
    const rows = answers.find((a) => a.id === primary)?.rows ?? [];
    const lsn = new Map<number, number>();
    for (const a of answers) if (a.lsn !== undefined) lsn.set(a.id, a.lsn);
    const delays = standbyDelays({
      primary,
      standbys: configuredBackends(cfg).filter((id) => id !== primary),
      lsn,
      rows,
      applicationName: (id) => nodeValue(cfg.backend_application_name, id),
      byTime: cfg.delay_threshold_by_time > 0,
    });
    const roles = new Map(answers.map((a) => [a.id, a.actualRole]));
    const findings = new Map<number, ReplicationFinding>();
    const primaryNode = nodes.find((n) => n.id === primary)!;
    findings.set(primary, {
      actualRole: roles.get(primary) ?? 'unknown',
      replicationDelay: 0,
      delayByTime: false,
      replicationState: primaryNode.replicationState,
      replicationSyncState: primaryNode.replicationSyncState,
    });
    for (const [id, d] of delays) {
      findings.set(id, { ...d, actualRole: roles.get(id) ?? 'unknown' });
      const line = standbyDelayLine(id, primary, d, cfg.log_standby_delay, cfg);
      if (line) log.info(line);
    }
    this.deps.table.setReplication(findings);
    if (cfg.detach_false_primary) this.detachFalsePrimaries(cfg, answers, log);
  }

  /** detach_false_primary (docs/behaviour.md#failover): pgpool's verify_backend_node_status each round. */
  private detachFalsePrimaries(cfg: PgpoolConfig, answers: readonly NodeAnswer[], log: Logger): void {
    const ids = (role: ActualRole) => answers.filter((a) => a.actualRole === role).map((a) => a.id);
    const receivers = answers.flatMap((a) => (a.receiver ? [a.receiver] : []));
    const { invalid, lines } = falsePrimaries(ids('primary'), ids('standby'), receivers, (id) => ({
      host: nodeValue(cfg.backend_hostname, id),
      port: nodeValue(cfg.backend_port, id),
    }));
    for (const l of lines) log.info(l);
    for (const id of invalid) {
      log.info(`pgpool_worker_child: invalid node found ${id}`);
      this.deps.falsePrimary?.(id);
    }
  }

  private async ask(cfg: PgpoolConfig, id: number, isPrimary: boolean, log: Logger): Promise<NodeAnswer> {
    const r = await askNode(cfg, this.deps.files, id, 'pgpool-ts replication check', async (conn, timeoutMs) => {
      const [[inRecovery, position]] = await simpleQuery(conn, POSITION_QUERY, timeoutMs);
      const actualRole: ActualRole = inRecovery === 't' ? 'standby' : 'primary';
      const lsn = position === null ? undefined : lsnBytes(position);
      if (!isPrimary && actualRole === 'standby' && cfg.detach_false_primary) {
        const [row] = await simpleQuery(conn, WAL_RECEIVER_QUERY, timeoutMs);
        const at = conninfoHostPort(row?.[1] ?? '');
        return { id, actualRole, lsn, receiver: { standby: id, streaming: row?.[0] === 'streaming', ...at } };
      }
      if (!isPrimary) return { id, actualRole, lsn };
      const rows = (await simpleQuery(conn, STATS_QUERY, timeoutMs)).map(
        ([applicationName, state, syncState, lag]): ReplicationRow => ({
          applicationName: applicationName ?? '',
          state,
          syncState,
          replayLagUs: lag === null ? null : Number(lag),
        }),
      );
      return { id, actualRole, lsn, rows };
    });
    if (r.ok) return r.value;
    const unreachable =
      r.stage === 'connect'
        ? {
            detail: `No persistent db connection for the node ${id}`,
            hint: 'check sr_check_user and sr_check_password',
          }
        : {};
    log.warn({ node: id, ...unreachable, error: r.error.message }, 'Failed to check replication time lag');
    return { id, actualRole: 'unknown' };
  }
}
