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
import {
  parseCluster,
  slotsFor,
  topology,
  type AddedBackend,
  type PatroniMember,
  type Topology,
} from '../policy/patroni.js';
import type { NodeTable } from './node-table.js';

export interface PatroniDeps {
  readonly config: () => PgpoolConfig;
  readonly table: NodeTable;
  readonly log: () => Logger;
  readonly endSessions: (node: number, scope: RestartScope) => void;
  /** Members no backend names take these free slots (the configuration and the node table grow). */
  readonly addBackends: (added: readonly AddedBackend[]) => void;
}

const backendsOf = (cfg: PgpoolConfig) =>
  configuredBackends(cfg).map((id) => ({
    id,
    host: nodeValue(cfg.backend_hostname, id),
    port: nodeValue(cfg.backend_port, id),
  }));

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
      const members = await this.read(cfg);
      if (members) {
        this.lastAnswer = Date.now();
        if (this.stale) log.info('Patroni answers again: following its leader');
        this.stale = false;
        this.apply(this.withAllMembers(members));
      } else if (!this.stale && Date.now() - this.lastAnswer > durationMs(cfg, 'patroni_stale_timeout')) {
        this.stale = true;
        const table = this.deps.table;
        const leader = table.primaryId;
        table.leaderUnknown();
        // Sessions writing to the last known leader cannot be told whether it still is one.
        if (leader !== undefined) this.deps.endSessions(leader, 'all');
        // Logged once the workers have been told.
        log.warn(
          { param: 'patroni_stale_timeout' },
          `no Patroni endpoint has answered for ${cfg.patroni_stale_timeout} s: no node takes writes until one does`,
        );
      }
    } finally {
      this.schedule();
    }
  }

  /** The first endpoint's member list; undefined when none answered. */
  private async read(cfg: PgpoolConfig): Promise<PatroniMember[] | undefined> {
    const urls = cfg.patroni_url
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    const timeoutMs = Math.max(1000, durationMs(cfg, 'patroni_poll_interval'));
    for (const url of urls) {
      try {
        const res = await fetch(new URL('/cluster', url), { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return parseCluster(await res.json());
      } catch (e) {
        this.deps.log().debug({ url, error: (e as Error).message }, 'Patroni endpoint did not answer');
      }
    }
    return undefined;
  }

  /** The members mapped onto the backends, members no backend names first given free slots. */
  private withAllMembers(members: readonly PatroniMember[]): Topology {
    const t = topology(members, backendsOf(this.deps.config()));
    if (t.unmatched.length === 0) return t;
    const added = slotsFor(t.unmatched, configuredBackends(this.deps.config()));
    const log = this.deps.log();
    for (const a of added)
      log.info(
        { member: a.name, node: a.id },
        `Patroni member "${a.name}" at ${a.host}:${a.port} is named by no backend: it is node ${a.id}`,
      );
    for (const m of t.unmatched.slice(added.length))
      if (!this.unmatchedSaid.has(m.name)) {
        this.unmatchedSaid.add(m.name);
        log.warn(
          { member: m.name, host: m.host, port: m.port },
          `Patroni member "${m.name}" at ${m.host}:${m.port} finds no free node slot (128 in all): it is not used`,
        );
      }
    if (added.length === 0) return t;
    this.deps.addBackends(added);
    return topology(members, backendsOf(this.deps.config()));
  }

  private apply(t: Topology): void {
    const cfg = this.deps.config();
    const log = this.deps.log();
    const table = this.deps.table;
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
      // Sessions of the old leader would write where Patroni no longer says to; read-only
      // sessions (no leader known) end too, so that their clients come back writing.
      if (oldLeader !== undefined) this.deps.endSessions(oldLeader, 'all');
      else this.deps.endSessions(t.leader!, 'all');
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
