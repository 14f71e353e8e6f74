// The health check (docs/behaviour.md#health-check), pgpool's health check process per
// node, in the supervisor without blocking anything: every health_check_period[N] seconds
// (measured from the end of a check) a login as health_check_user[N] — no query — within
// health_check_timeout[N], retried health_check_max_retries[N] times after
// health_check_retry_delay[N]; all attempts failing is a detach request (unless the node
// is DISALLOW_TO_FAILOVER). A node down or unused is skipped. The counters are pgpool's.
import { durationMs, nodeDurationMs, nodeHasFlag } from '../config/accessors.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive, type NodeView } from '../ipc/node-snapshot.js';
import { measuresDelay } from '../policy/clustering.js';
import type { Logger } from '../logging/logger.js';
import { healthCheckLogin, openCheckConnection, type CredentialFiles } from './check-connection.js';
import type { NodeTable } from './node-table.js';

/** With health_check_period 0 a node's loop looks again this often (pgpool sleeps 30 s). */
const DISABLED_RECHECK_MS = 30_000;

/** pgpool's POOL_HEALTH_CHECK_STATS for one node; times are ms epoch, 0 for never. */
export interface HealthStats {
  total: number;
  success: number;
  fail: number;
  skip: number;
  retry: number;
  maxRetry: number;
  /** ms */
  maxDuration: number;
  minDuration: number;
  totalDuration: number;
  lastCheck: number;
  lastSuccess: number;
  lastSkip: number;
  lastFailed: number;
}

const freshStats = (): HealthStats => ({
  total: 0,
  success: 0,
  fail: 0,
  skip: 0,
  retry: 0,
  maxRetry: 0,
  maxDuration: 0,
  minDuration: 0,
  totalDuration: 0,
  lastCheck: 0,
  lastSuccess: 0,
  lastSkip: 0,
  lastFailed: 0,
});

export interface HealthCheckDeps {
  readonly config: () => PgpoolConfig;
  readonly files: CredentialFiles;
  readonly table: NodeTable;
  readonly log: () => Logger;
  /** Every attempt failed: the node should be detached (timedOut: health_check_timeout expired). */
  readonly failed: (id: number, timedOut: boolean) => void;
  /** auto_failback: a down standby streams again and accepts a login — attach it. */
  readonly autoFailback: (id: number) => void;
  /** A failover or failback is queued or running (auto_failback waits). */
  readonly switching: () => boolean;
}

/** What one login attempt gave. */
type Attempt = { ok: true } | { ok: false; timedOut: boolean };

export class HealthCheck {
  private readonly stats = new Map<number, HealthStats>();
  private readonly loops = new Map<number, { wake: () => void; timer?: NodeJS.Timeout }>();
  /** auto_failback_interval: when each node may be failed back automatically again (ms epoch). */
  private readonly nextFailback = new Map<number, number>();
  private stopped = false;

  constructor(private readonly deps: HealthCheckDeps) {}

  /** The counters of node `id` (zeros before its first check). */
  statsOf(id: number): HealthStats {
    return this.stats.get(id) ?? freshStats();
  }

  /** Starts a loop for every configured node (and, after a reload, for nodes added). */
  start(): void {
    for (const n of this.deps.table.snapshot()) if (!this.loops.has(n.id)) void this.loop(n.id);
  }

  /** After a reload: periods may have changed, nodes may have been added. */
  reloaded(): void {
    for (const l of this.loops.values()) l.wake();
    this.start();
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.loops.values()) l.wake();
  }

  private sleep(id: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = this.loops.get(id)!;
      entry.wake = () => {
        clearTimeout(entry.timer);
        resolve();
      };
      entry.timer = setTimeout(entry.wake, ms);
    });
  }

  private async loop(id: number): Promise<void> {
    this.loops.set(id, { wake: () => {} });
    while (!this.stopped) {
      const cfg = this.deps.config();
      const periodMs = nodeDurationMs(cfg, 'health_check_period', id);
      if (periodMs <= 0) {
        await this.sleep(id, DISABLED_RECHECK_MS);
        continue;
      }
      await this.check(id, cfg);
      if (!this.stopped) await this.sleep(id, periodMs);
    }
    this.loops.delete(id);
  }

  /** One health check of node `id`, with its retries. */
  private async check(id: number, cfg: PgpoolConfig): Promise<void> {
    const s = this.stats.get(id) ?? freshStats();
    this.stats.set(id, s);
    const started = Date.now();
    s.total++;
    s.lastCheck = started;
    const node = this.deps.table.snapshot().find((n) => n.id === id);
    if (!node || !isAlive(node)) {
      if (node?.status === 'down') await this.maybeFailBack(node, cfg);
      s.skip++;
      s.lastSkip = started;
      return;
    }
    const log = this.deps.log();
    const maxRetries = nodeValue(cfg.health_check_max_retries, id);
    let attempt: Attempt;
    let round = 0;
    for (;;) {
      attempt = await this.attempt(id, cfg);
      if (this.stopped) return;
      if (attempt.ok) {
        if (round > 0) log.info(`health check retrying on DB node: ${id} succeeded`);
        break;
      }
      if (round >= maxRetries) break;
      round++;
      s.retry++;
      log.info(`health check retrying on DB node: ${id} (round:${round})`);
      await this.sleep(id, nodeDurationMs(cfg, 'health_check_retry_delay', id));
      if (this.stopped) return;
    }
    s.maxRetry = Math.max(s.maxRetry, round);
    const ended = Date.now();
    const duration = ended - started;
    s.totalDuration += duration;
    s.maxDuration = Math.max(s.maxDuration, duration);
    s.minDuration = s.success + s.fail === 0 ? duration : Math.min(s.minDuration, duration);
    this.deps.table.setPgStatus(id, attempt.ok ? 'up' : 'down');
    if (attempt.ok) {
      s.success++;
      s.lastSuccess = ended;
      return;
    }
    s.lastFailed = ended;
    if (nodeHasFlag(cfg, id, 'DISALLOW_TO_FAILOVER')) {
      log.info(`health check failed on node ${id} but failover is disallowed for the node`);
      return;
    }
    s.fail++;
    log.info(`health check failed on node ${id} (timeout:${attempt.timedOut ? 1 : 0})`);
    this.deps.failed(id, attempt.timedOut);
  }

  /**
   * auto_failback (docs/behaviour.md#failover): a down standby that streams again (the
   * replication check's state, by backend_application_name) and accepts a login is
   * attached, at most once per auto_failback_interval.
   */
  private async maybeFailBack(node: NodeView, cfg: PgpoolConfig): Promise<void> {
    if (!cfg.auto_failback || !measuresDelay(cfg.backend_clustering_mode)) return;
    if (node.replicationState !== 'streaming' || this.deps.switching()) return;
    if (Date.now() < (this.nextFailback.get(node.id) ?? 0)) return;
    if (!(await this.attempt(node.id, cfg)).ok) return;
    this.deps.log().info(`request auto failback, node id:${node.id}`);
    this.nextFailback.set(node.id, Date.now() + durationMs(cfg, 'auto_failback_interval'));
    this.deps.autoFailback(node.id);
  }

  /** One login as health_check_user within health_check_timeout (0: none). */
  private async attempt(id: number, cfg: PgpoolConfig): Promise<Attempt> {
    const timeoutMs = nodeDurationMs(cfg, 'health_check_timeout', id);
    const login = openCheckConnection(cfg, this.deps.files, id, healthCheckLogin(cfg, id), undefined);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      if (timeoutMs > 0) timer = setTimeout(() => resolve('expired'), timeoutMs);
    });
    try {
      const r = await Promise.race([login, expired]);
      if (r === 'expired') {
        // A login still under way is closed when it ends.
        login.then((c) => c.close()).catch(() => {});
        this.deps
          .log()
          .info(
            { detail: 'health check timer expired' },
            `failed to connect to PostgreSQL server on "${nodeValue(cfg.backend_hostname, id)}:${nodeValue(cfg.backend_port, id)}" using INET socket`,
          );
        return { ok: false, timedOut: true };
      }
      r.close();
      return { ok: true };
    } catch (e) {
      this.deps
        .log()
        .info(
          { detail: (e as Error).message },
          `failed to connect to PostgreSQL server on "${nodeValue(cfg.backend_hostname, id)}:${nodeValue(cfg.backend_port, id)}"`,
        );
      return { ok: false, timedOut: false };
    } finally {
      clearTimeout(timer);
    }
  }
}
