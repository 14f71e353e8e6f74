// Failover and failback (docs/behaviour.md#failover), pgpool's failover() in the
// supervisor: requests to detach a node (health check, PCP, a session that could not use
// it) or attach one (PCP) are queued and carried out one at a time — the node table's
// status, the sessions the change ends, failover_command / failback_command, and a new
// primary search when the primary went away or a node came back. Decisions are pure
// (policy/failover.ts); nothing else waits on this queue.
import { exec } from 'node:child_process';
import { nodeHasFlag } from '../config/accessors.js';
import { nodeValue } from '../config/conf-loader.js';
import type { PgpoolConfig } from '../config/schema.js';
import { isAlive, NODE_STATUS_CODE, type NodeSnapshot, type NodeStatus } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';
import { followsPatroni, hasPrimary } from '../policy/clustering.js';
import {
  attachIgnored,
  attachRefusal,
  detachRefusal,
  expandCommand,
  isLastAlive,
  restartScope,
  type CommandContext,
  type CommandNode,
  type RequestedNode,
  type RestartScope,
} from '../policy/failover.js';
import type { NodeTable } from './node-table.js';

/** The refusal of every node request while Patroni decides (docs/behaviour.md#patroni). */
const FOLLOWS_PATRONI =
  'pgpool-ts follows Patroni (backend_discovery = patroni): it detaches, attaches and promotes no node itself';

export interface FailoverDeps {
  readonly config: () => PgpoolConfig;
  readonly table: NodeTable;
  readonly log: () => Logger;
  /** Searches for the primary again (find_primary_node_repeatedly); resolves when it is done. */
  readonly searchPrimary: () => Promise<void>;
  /** Ends the sessions the change affects, in every worker, and their cached connections. */
  readonly endSessions: (node: number, scope: RestartScope) => void;
  /** Runs a command through the shell; resolves when it has exited (its status is ignored, as pgpool's). */
  readonly run?: (command: string) => Promise<void>;
}

/** A PCP refusal of a promote request. */
export interface PromoteRefusal {
  readonly severity: 'ERROR' | 'FATAL';
  readonly message: string;
  readonly detail?: string;
}

/** A detach: why it was asked for (health_check_timeout expiry restarts every session, as pgpool). */
export interface DetachWhy {
  readonly timedOut: boolean;
  /** The health check or a session asked, not an administrator: the last alive node is kept. */
  readonly automatic: boolean;
  /** pcp_promote_node --switchover: the node failover_command is told to promote (%m). */
  readonly promoteTo?: number;
}

function runShell(command: string): Promise<void> {
  return new Promise((resolve) => exec(command, () => resolve()));
}

export class Failover {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly deps: FailoverDeps) {}

  /** A failover or failback is queued or running. */
  get inProgress(): boolean {
    return this.pending > 0;
  }

  /** Resolves when every request queued so far has been carried out. */
  settled(): Promise<void> {
    return this.queue;
  }

  private requested(id: number): RequestedNode {
    const n = this.deps.table.snapshot().find((x) => x.id === id);
    return {
      id,
      status: n?.status,
      disallowFailover: !!n && nodeHasFlag(this.deps.config(), id, 'DISALLOW_TO_FAILOVER'),
    };
  }

  /** Why a detach of node `id` would be refused now (undefined: it would be taken). */
  detachRefused(id: number, automatic = false): string | undefined {
    if (followsPatroni(this.deps.config())) return FOLLOWS_PATRONI;
    return detachRefusal(this.requested(id), process.pid, automatic && isLastAlive(this.deps.table.snapshot(), id));
  }

  /** A request to detach node `id`: pgpool's refusal text, or undefined when it is queued. */
  detach(id: number, why: DetachWhy): string | undefined {
    const refusal = this.detachRefused(id, why.automatic);
    if (refusal) return refusal;
    this.deps.log().info(`received degenerate backend request for node_id: ${id} from pid [${process.pid}]`);
    this.enqueue(() => this.degenerate(id, why));
    return undefined;
  }

  /** A request to attach node `id`: pgpool's refusal text, or undefined when it is queued. */
  attach(id: number): string | undefined {
    if (followsPatroni(this.deps.config())) return FOLLOWS_PATRONI;
    const refusal = attachRefusal(this.requested(id), !hasPrimary(this.deps.config().backend_clustering_mode));
    if (refusal) return refusal;
    this.deps.log().info(`received failback request for node_id: ${id} from pid [${process.pid}]`);
    this.enqueue(() => this.failback(id));
    return undefined;
  }

  /**
   * pcp_promote_node (docs/behaviour.md#failover): pgpool's refusal (an ERROR, or a FATAL
   * that ends the PCP connection), or undefined when the request was taken. With
   * `switchover` the current primary is detached and failover_command is told to promote
   * node `id`.
   */
  promote(id: number, switchover: boolean): PromoteRefusal | undefined {
    const cfg = this.deps.config();
    const log = this.deps.log();
    log.info(`pcp_promote_node: promote option: ${switchover ? 's' : 'n'}`);
    if (followsPatroni(cfg)) return { severity: 'ERROR', message: FOLLOWS_PATRONI };
    const n = this.deps.table.snapshot().find((x) => x.id === id);
    if (!n)
      return { severity: 'ERROR', message: 'could not process promote request', detail: `node id ${id} is not valid` };
    if (!hasPrimary(cfg.backend_clustering_mode))
      return {
        severity: 'FATAL',
        message: 'invalid pgpool mode for process promote request',
        detail: `not in streaming replication mode, can't promote node id ${id}`,
      };
    const primary = this.deps.table.primaryId;
    if (primary === id)
      return {
        severity: 'FATAL',
        message: 'invalid promote request',
        detail: `specified node is already primary node, can't promote node id ${id}`,
      };
    if (!isAlive(n)) {
      log.info(`invalid promote backend request, node id : ${id} status: [${NODE_STATUS_CODE[n.status]}] not valid`);
      return undefined;
    }
    if (switchover && primary !== undefined && isAlive(this.statusOf(primary))) {
      log.info(`received degenerate backend request for node_id: ${id} from pid [${process.pid}]`);
      this.enqueue(() => this.degenerate(primary, { timedOut: false, automatic: false, promoteTo: id }));
      return undefined;
    }
    log.info(`received promote backend request for node_id: ${id} from pid [${process.pid}]`);
    this.enqueue(() => this.promotion(id));
    return undefined;
  }

  private enqueue(step: () => Promise<void>): void {
    this.pending++;
    this.queue = this.queue
      .then(step)
      .catch((e: Error) => this.deps.log().error(`failover failed: ${e.message}`))
      .finally(() => this.pending--);
  }

  private node(cfg: PgpoolConfig, id: number | undefined): CommandNode | undefined {
    if (id === undefined) return undefined;
    return {
      id,
      host: nodeValue(cfg.backend_hostname, id),
      port: nodeValue(cfg.backend_port, id),
      dataDirectory: nodeValue(cfg.backend_data_directory, id),
    };
  }

  private async command(template: string, context: CommandContext): Promise<void> {
    if (template === '') return;
    const command = expandCommand(template, context);
    this.deps.log().info(`execute command: ${command}`);
    await (this.deps.run ?? runShell)(command);
  }

  private async degenerate(id: number, why: DetachWhy): Promise<void> {
    const cfg = this.deps.config();
    const log = this.deps.log();
    const table = this.deps.table;
    const before = table.snapshot();
    const target = this.node(cfg, id)!;
    if (!isAlive(before.find((n) => n.id === id) ?? { status: 'unused' })) {
      log.info(this.notValid(id, before));
      return;
    }
    const withPrimary = hasPrimary(cfg.backend_clustering_mode);
    const primaryBefore = withPrimary ? table.primaryId : undefined;
    const oldMain = mainId(before);
    log.info(`=== Starting degeneration. shutdown host ${target.host}(${target.port}) ===`);
    table.transition(id, 'down');
    const newMain = mainId(table.snapshot());
    if (newMain === undefined) log.info('failover: no valid backend node found');
    const scope = restartScope({ withPrimary, failed: id, primaryBefore, timedOut: why.timedOut });
    const promoteTo = why.promoteTo;
    if (scope === 'node')
      log.info(
        `Do not restart children because we are switching over node id ${id} host: ${target.host} port: ${target.port} and we are in streaming replication mode`,
      );
    else log.info('Restart all children');
    this.deps.endSessions(id, scope);
    await this.command(cfg.failover_command, {
      node: target,
      target: this.node(cfg, promoteTo ?? newMain),
      oldMain: oldMain ?? -1,
      oldPrimary: this.node(cfg, primaryBefore),
    });
    if (withPrimary && (primaryBefore === id || primaryBefore === undefined)) {
      await this.deps.searchPrimary();
      // pgpool's follow primary: after the primary changed, with follow_primary_command (or for a switchover).
      const found = table.primaryId;
      const changed = found !== undefined && found !== primaryBefore && isAlive(this.statusOf(found));
      if (changed && (cfg.follow_primary_command !== '' || promoteTo !== undefined))
        this.follow(cfg, found, primaryBefore);
    }
    if (withPrimary) log.info(`failover: set new primary node: ${table.primaryId ?? -1}`);
    log.info(`failover: set new main node: ${mainId(table.snapshot()) ?? -1}`);
    log.info(`=== Failover done. shutdown host ${target.host}(${target.port}) ===`);
  }

  private statusOf(id: number): { status: NodeStatus } {
    return this.deps.table.snapshot().find((n) => n.id === id) ?? { status: 'unused' };
  }

  /**
   * pgpool's follow primary (docs/behaviour.md#failover): every node but the new primary
   * goes down, then follow_primary_command runs for each down node, one after another,
   * outside the queue (pgpool forks a follow child for it; the command is expected to
   * re-point the node and pcp_attach_node it).
   */
  private follow(cfg: PgpoolConfig, newPrimary: number, oldPrimary: number | undefined): void {
    const log = this.deps.log();
    let count = 0;
    for (const n of this.deps.table.snapshot()) {
      if (n.id === newPrimary || !isAlive(n)) continue;
      const node = this.node(cfg, n.id)!;
      log.info(`starting follow degeneration. shutdown host ${node.host}(${node.port})`);
      this.deps.table.transition(n.id, 'down');
      count++;
    }
    log.info(
      count > 0
        ? `failover: ${count} follow backends have been degenerated`
        : 'failover: no follow backends are degenerated',
    );
    if (cfg.follow_primary_command === '') return;
    const down = this.deps.table.snapshot().filter((n) => n.status === 'down');
    const template = cfg.follow_primary_command;
    void (async () => {
      for (const n of down) {
        log.info(`=== Starting follow primary command for node ${n.id} ===`);
        await this.command(template, {
          node: this.node(cfg, n.id)!,
          target: this.node(cfg, newPrimary),
          oldMain: oldPrimary ?? -1,
          oldPrimary: this.node(cfg, oldPrimary),
        });
        log.info(`=== Follow primary command for node ${n.id} ended ===`);
      }
    })();
  }

  /**
   * pcp_promote_node without --switchover: pgpool-ts's view only — node `id` becomes the
   * primary, every session ends, the other nodes follow (go down; follow_primary_command);
   * failover_command does not run and PostgreSQL is not touched (pgpool's semantics).
   */
  private async promotion(id: number): Promise<void> {
    const cfg = this.deps.config();
    const log = this.deps.log();
    const table = this.deps.table;
    const target = this.node(cfg, id)!;
    const oldPrimary = table.primaryId;
    log.info(`starting promotion. promote host ${target.host}(${target.port})`);
    log.info('Restart all children');
    this.deps.endSessions(id, 'all');
    table.setPrimary(id, new Map());
    this.follow(cfg, id, oldPrimary);
    log.info(`failover: set new primary node: ${id}`);
    log.info(`failover: set new main node: ${mainId(table.snapshot()) ?? -1}`);
    log.info(`=== Promotion done. promoted host ${target.host}(${target.port}) ===`);
  }

  private notValid(id: number, nodes: NodeSnapshot): string {
    return detachRefusal({ id, status: nodes.find((n) => n.id === id)?.status, disallowFailover: false }, process.pid)!;
  }

  private async failback(id: number): Promise<void> {
    const cfg = this.deps.config();
    const log = this.deps.log();
    const table = this.deps.table;
    const target = this.node(cfg, id)!;
    const ignored = attachIgnored(this.requested(id));
    if (ignored) {
      log.info(ignored);
      return;
    }
    const before = table.snapshot();
    const withPrimary = hasPrimary(cfg.backend_clustering_mode);
    const oldMain = mainId(before);
    // pgpool's PRIMARY_NODE_ID: the primary, else the main node.
    const oldPrimary = withPrimary ? (table.primaryId ?? oldMain) : oldMain;
    const allDown = before.every((n) => !isAlive(n));
    log.info(`=== Starting fail back. reconnect host ${target.host}(${target.port}) ===`);
    table.transition(id, 'waiting');
    await this.command(cfg.failback_command, {
      node: target,
      target: this.node(cfg, mainId(table.snapshot())),
      oldMain: oldMain ?? -1,
      oldPrimary: this.node(cfg, oldPrimary),
    });
    if (withPrimary && !allDown && table.primaryId !== undefined && table.primaryId !== id)
      log.info(
        `Do not restart children because we are failing back node id ${id} host: ${target.host} port: ${target.port} and we are in streaming replication mode and not all backends were down`,
      );
    else {
      log.info('Restart all children');
      this.deps.endSessions(id, 'all');
    }
    if (withPrimary) await this.deps.searchPrimary();
    log.info(`=== Failback done. reconnect host ${target.host}(${target.port}) ===`);
  }
}

/** pgpool's main node: the lowest-id alive node. */
function mainId(nodes: NodeSnapshot): number | undefined {
  return nodes.find(isAlive)?.id;
}
