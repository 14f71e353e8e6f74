// Following Patroni (docs/behaviour.md#patroni), pgpool-ts's own: with backend_discovery =
// patroni the supervisor reads GET /cluster from the first patroni_url endpoint that
// answers, every patroni_poll_interval, and the node table takes Patroni's leader as the
// primary, its serving members as alive, the others as down, and its lag. pgpool-ts runs
// no failover of its own then. When no endpoint has answered for patroni_stale_timeout,
// no node takes writes until one does.
import { durationMs } from '../config/accessors.js';
import { configuredBackends } from '../config/conf-checks.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';
import type { RestartScope } from '../policy/failover.js';
import { parseCluster, topology, type Topology } from '../policy/patroni.js';
import type { NodeTable } from './node-table.js';

export interface PatroniDeps {
  readonly config: () => PgpoolConfig;
  readonly table: NodeTable;
  readonly log: () => Logger;
  readonly endSessions: (node: number, scope: RestartScope) => void;
}

export class PatroniDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastAnswer = Date.now();
  private stale = false;
  private readonly unmatchedSaid = new Set<string>();

  constructor(private readonly deps: PatroniDeps) {}

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), durationMs(this.deps.config(), 'patroni_poll_interval'));
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const cfg = this.deps.config();
    const log = this.deps.log();
    try {
      const t = await this.read(cfg);
      if (t) {
        this.lastAnswer = Date.now();
        if (this.stale) log.info('Patroni answers again: following its leader');
        this.stale = false;
        this.apply(t, cfg);
      } else if (!this.stale && Date.now() - this.lastAnswer > durationMs(cfg, 'patroni_stale_timeout')) {
        this.stale = true;
        log.warn(
          { param: 'patroni_stale_timeout' },
          `no Patroni endpoint has answered for ${cfg.patroni_stale_timeout} s: no node takes writes until one does`,
        );
        const table = this.deps.table;
        const leader = table.primaryId;
        const nodes = table.snapshot();
        table.discovered(
          undefined,
          new Map(nodes.map((n) => [n.id, isAlive(n)])),
          new Map(nodes.map((n) => [n.id, n.replicationDelay])),
        );
        // Sessions writing to the last known leader cannot be told whether it still is one.
        if (leader !== undefined) this.deps.endSessions(leader, 'all');
      }
    } finally {
      this.schedule();
    }
  }

  /** The first endpoint's answer, mapped onto the backends; undefined when none answered. */
  private async read(cfg: PgpoolConfig): Promise<Topology | undefined> {
    const urls = cfg.patroni_url
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    const timeoutMs = Math.max(1000, durationMs(cfg, 'patroni_poll_interval'));
    for (const url of urls) {
      try {
        const res = await fetch(new URL('/cluster', url), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const members = parseCluster(await res.json());
        return topology(
          members,
          configuredBackends(cfg).map((id) => ({
            id,
            host: nodeValue(cfg.backend_hostname, id),
            port: nodeValue(cfg.backend_port, id),
          })),
        );
      } catch (e) {
        this.deps.log().debug({ url, error: (e as Error).message }, 'Patroni endpoint did not answer');
      }
    }
    return undefined;
  }

  private apply(t: Topology, cfg: PgpoolConfig): void {
    const log = this.deps.log();
    const table = this.deps.table;
    for (const m of t.unmatched)
      if (!this.unmatchedSaid.has(m.name)) {
        this.unmatchedSaid.add(m.name);
        log.warn(
          { member: m.name, host: m.host, port: m.port },
          `Patroni member "${m.name}" at ${m.host}:${m.port} is named by no backend_hostnameN/backend_portN: it is not used`,
        );
      }
    const oldLeader = table.primaryId;
    const before = table.snapshot();
    table.discovered(t.leader, t.alive, t.lag);
    const host = (id: number) => `${nodeValue(cfg.backend_hostname, id)}(${nodeValue(cfg.backend_port, id)})`;
    if (t.leader !== oldLeader) {
      log.info(
        t.leader === undefined
          ? 'Patroni names no leader: no node takes writes'
          : `Patroni leader is node ${t.leader} ${host(t.leader)}: it takes the writes`,
      );
      // Sessions of the old leader would write where Patroni no longer says to.
      if (oldLeader !== undefined) this.deps.endSessions(oldLeader, 'all');
    }
    for (const n of before) {
      if (isAlive(n) && t.alive.get(n.id) === false) {
        log.info(`Patroni: node ${n.id} ${host(n.id)} is not serving: down`);
        this.deps.endSessions(n.id, 'node');
      } else if (!isAlive(n) && t.alive.get(n.id) === true)
        log.info(`Patroni: node ${n.id} ${host(n.id)} serves again`);
    }
  }
}
