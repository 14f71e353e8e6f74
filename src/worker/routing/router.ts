// Where a session goes (docs/architecture.md#processes, docs/behaviour.md#routing). Raw
// mode: the main node, the first node the node table does not say is down. Streaming and
// logical replication: pgpool's PRIMARY_NODE_ID (the primary when it is alive, else the
// main node) for writes, and with load_balance_mode a load-balance node chosen for the
// session (policy/load-balance.ts); when that is another node, the session is routed over
// both (relay/routed-relay.ts).
import { nodeAddress, type BackendAddress } from '../../backend/address.js';
import { configuredBackends, configuredWeight } from '../../config/conf-checks.js';
import type { PgpoolConfig } from '../../config/schema.js';
import { isAlive, type NodeSnapshot } from '../../ipc/node-snapshot.js';
import { followsPatroni, hasPrimary, measuresDelay, writeNodeId } from '../../policy/clustering.js';
import {
  parseRedirectList,
  readOnlyNode,
  selectLoadBalancingNode,
  type LbInput,
  type RedirectEntry,
} from '../../policy/load-balance.js';
import { delayVerdict } from '../../policy/replication-delay.js';

export interface SessionPlan {
  readonly primary: BackendAddress | undefined;
  /** The load-balance node, when it is not the primary. */
  readonly standby?: BackendAddress;
  /**
   * Following Patroni: a member it calls replica, to serve the session alone when the
   * leader cannot be reached or, with no leader known, a node within the delay threshold
   * (its writes then fail there, as on any standby).
   */
  readonly readOnly?: BackendAddress;
}

/** The parsed redirect lists of a configuration (checked at start; a reload gives a new object). */
const listsOf = new WeakMap<PgpoolConfig, { user: RedirectEntry[]; database: RedirectEntry[]; app: RedirectEntry[] }>();
function redirectLists(cfg: PgpoolConfig) {
  let l = listsOf.get(cfg);
  if (!l) {
    const parse = (text: string) => {
      try {
        return parseRedirectList(text);
      } catch {
        return [];
      }
    };
    l = {
      user: parse(cfg.user_redirect_preference_list),
      database: parse(cfg.database_redirect_preference_list),
      app: parse(cfg.app_name_redirect_preference_list),
    };
    listsOf.set(cfg, l);
  }
  return l;
}

/** Whether sessions may ever be routed over two nodes with this configuration (the parser is loaded then). */
export const mayLoadBalance = (cfg: PgpoolConfig): boolean =>
  hasPrimary(cfg.backend_clustering_mode) && cfg.load_balance_mode && configuredBackends(cfg).length > 1;

type Who = { readonly user: string; readonly database: string; readonly applicationName: string };

/** select_load_balancing_node's input; `held`: the only nodes that count as alive (all alive ones when undefined). */
function lbInput(
  cfg: PgpoolConfig,
  nodes: NodeSnapshot,
  primaryId: number,
  who: Who,
  held?: ReadonlySet<number>,
): LbInput {
  const alive = (n: NodeSnapshot[number]) => isAlive(n) && (!held || held.has(n.id));
  return {
    nodes: nodes.map((n) => ({
      id: n.id,
      alive: alive(n),
      weight: configuredWeight(cfg, n.id),
      delayed: delayVerdict(n, cfg) !== 0,
      delay: n.replicationDelay,
    })),
    primary: primaryId,
    main: nodes.find(alive)?.id ?? primaryId,
    ...who,
    lists: redirectLists(cfg),
    preferLowerDelay: measuresDelay(cfg.backend_clustering_mode) && cfg.prefer_lower_delay_standby,
  };
}

export function planSession(
  cfg: PgpoolConfig,
  nodes: NodeSnapshot,
  who: Who,
  rand: () => number = Math.random,
): SessionPlan {
  const plan = planNodes(cfg, nodes, who, rand);
  const primary = plan.primary;
  if (!followsPatroni(cfg)) return plan;
  if (primary === undefined) {
    // Only a node Patroni last called replica: one it last called leader may still take writes.
    const id = readOnlyNode(
      lbInput(cfg, nodes, -1, who).nodes.filter((_, i) => nodes[i].actualRole === 'standby'),
      rand,
    );
    return id === undefined ? plan : { primary: undefined, readOnly: nodeAddress(cfg, id) };
  }
  if (plan.standby) return { ...plan, readOnly: plan.standby };
  const replica = nodes.find((n) => isAlive(n) && n.id !== primary.node);
  return replica ? { ...plan, readOnly: nodeAddress(cfg, replica.id) } : plan;
}

function planNodes(cfg: PgpoolConfig, nodes: NodeSnapshot, who: Who, rand: () => number): SessionPlan {
  const primaryId = writeNodeId(cfg.backend_clustering_mode, nodes, followsPatroni(cfg));
  if (primaryId === undefined) return { primary: undefined };
  const primary = nodeAddress(cfg, primaryId);
  const alive = nodes.filter(isAlive);
  if (!hasPrimary(cfg.backend_clustering_mode) || !cfg.load_balance_mode || alive.length < 2) return { primary };
  const input = lbInput(cfg, nodes, primaryId, who);
  // statement_level_load_balance: each read chooses its node (readOnStandby); the session
  // holds a standby, chosen by weight, for the reads that choose one.
  const lb = cfg.statement_level_load_balance
    ? selectLoadBalancingNode(
        {
          ...input,
          nodes: input.nodes.map((n) => (n.id === primaryId ? { ...n, alive: false } : n)),
          main: primaryId,
          lists: NO_LISTS,
        },
        rand,
      )
    : selectLoadBalancingNode(input, rand);
  return lb === primaryId ? { primary } : { primary, standby: nodeAddress(cfg, lb) };
}

const NO_LISTS: LbInput['lists'] = { user: [], database: [], app: [] };

/**
 * statement_level_load_balance: whether this read goes to the session's standby (else to
 * the primary), chosen again for every read as pgpool does, among the two nodes the
 * session holds.
 */
export function readOnStandby(
  cfg: PgpoolConfig,
  nodes: NodeSnapshot,
  who: Who,
  standbyId: number,
  rand: () => number = Math.random,
): boolean {
  const primaryId = writeNodeId(cfg.backend_clustering_mode, nodes, followsPatroni(cfg));
  if (primaryId === undefined) return false;
  return (
    selectLoadBalancingNode(lbInput(cfg, nodes, primaryId, who, new Set([primaryId, standbyId])), rand) === standbyId
  );
}
