// Choosing a session's load-balance node (docs/behaviour.md#load-balancing), pure:
// pgpool's select_load_balancing_node(). The redirect preference lists (application name
// over database over user), each entry's ratio, the weighted random choice among alive
// nodes, and prefer_lower_delay_standby. Randomness is passed in, so tests can fix it.

/** One `regex:target[(ratio)]` entry of a *_redirect_preference_list. */
export interface RedirectEntry {
  readonly pattern: RegExp;
  /** A node id, or 'primary' / 'standby'. */
  readonly target: number | 'primary' | 'standby';
  /** 0..1: the share of matching sessions sent to the target. */
  readonly ratio: number;
}

/**
 * Parses a preference list as pgpool does: comma-separated `regex:target` entries, an
 * optional `(ratio)` after the target; the regex is matched case-insensitively against
 * the whole name (`^`/`$` added unless present). Throws with a message naming the entry.
 */
export function parseRedirectList(text: string): RedirectEntry[] {
  if (text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const item = raw.trim();
    const colon = item.lastIndexOf(':');
    if (colon <= 0) throw new Error(`invalid entry "${item}": expected regex:target`);
    const left = item.slice(0, colon).trim();
    const m = /^([A-Za-z]+|\d+)\s*(?:\(\s*([0-9.]+)\s*\))?$/.exec(item.slice(colon + 1).trim());
    if (!m)
      throw new Error(`invalid target in "${item}": expected a node id, primary or standby, with an optional (ratio)`);
    const word = m[1].toLowerCase();
    let target: RedirectEntry['target'];
    if (/^\d+$/.test(word)) target = Number(word);
    else if (word === 'primary' || word === 'standby') target = word;
    else throw new Error(`invalid target "${m[1]}" in "${item}": expected a node id, primary or standby`);
    const ratio = m[2] === undefined ? 1 : Number(m[2]);
    if (!(ratio >= 0 && ratio <= 1)) throw new Error(`invalid ratio in "${item}": must be between 0 and 1`);
    const anchored = `${left.startsWith('^') ? '' : '^'}${left}${left.endsWith('$') ? '' : '$'}`;
    let pattern: RegExp;
    try {
      pattern = new RegExp(anchored, 'i');
    } catch (e) {
      throw new Error(`invalid regular expression in "${item}": ${(e as Error).message}`, { cause: e });
    }
    return { pattern, target, ratio };
  });
}

export interface LbNode {
  readonly id: number;
  readonly alive: boolean;
  /** backend_weight as configured (≥ 0); 0 never gets reads. */
  readonly weight: number;
  /** Over delay_threshold (or delay_threshold_by_time) at the last replication check. */
  readonly delayed: boolean;
  /** The measured delay (for the least-delayed choice). */
  readonly delay: number;
}

export interface LbInput {
  /** In node id order. */
  readonly nodes: readonly LbNode[];
  /** PRIMARY_NODE_ID: the primary if alive, else the main node. */
  readonly primary: number;
  /** The lowest-id alive node. */
  readonly main: number;
  readonly user: string;
  readonly database: string;
  /** From the startup packet only, as pgpool. */
  readonly applicationName: string;
  readonly lists: {
    readonly user: readonly RedirectEntry[];
    readonly database: readonly RedirectEntry[];
    readonly app: readonly RedirectEntry[];
  };
  /** Streaming replication with prefer_lower_delay_standby = on. */
  readonly preferLowerDelay: boolean;
}

const STANDBY = -1;

function suggestion(i: LbInput): { node: number; ratio: number } | undefined {
  const match = (list: readonly RedirectEntry[], name: string) => list.find((e) => e.pattern.test(name));
  let e = match(i.lists.user, i.user);
  e = match(i.lists.database, i.database) ?? e;
  if (i.applicationName !== '') e = match(i.lists.app, i.applicationName) ?? e;
  if (!e) return undefined;
  if (e.target === 'standby') return { node: STANDBY, ratio: e.ratio };
  const id = e.target === 'primary' ? i.primary : i.nodes.some((n) => n.id === e.target) ? e.target : i.main;
  // A named node that is down in this view is no suggestion.
  return i.nodes.some((n) => n.id === id && n.alive) ? { node: id, ratio: e.ratio } : undefined;
}

function weighted(candidates: readonly LbNode[], r: number): number | undefined {
  const total = candidates.reduce((a, n) => a + n.weight, 0);
  if (total <= 0) return undefined;
  let acc = 0;
  const point = r * total;
  for (const n of candidates) {
    acc += n.weight;
    if (point < acc) return n.id;
  }
  return candidates[candidates.length - 1].id;
}

/** The least-delayed alive standby with weight > 0 (weighted random among ties), else the primary. */
function leastDelayed(i: LbInput, rand: () => number): number {
  const standbys = i.nodes.filter((n) => n.alive && n.weight > 0 && n.id !== i.primary);
  if (standbys.length === 0) return i.primary;
  const least = Math.min(...standbys.map((n) => n.delay));
  return weighted(
    standbys.filter((n) => n.delay === least),
    rand(),
  )!;
}

/** The session's (or, with statement_level_load_balance, the statement's) load-balance node. */
export function selectLoadBalancingNode(i: LbInput, rand: () => number): number {
  const s = suggestion(i);
  const exclude = new Set<number>();
  const delayed = (id: number) => i.nodes.find((n) => n.id === id)?.delayed === true;
  if (s && s.node !== STANDBY) {
    if (i.preferLowerDelay && s.node !== i.primary && delayed(s.node)) return leastDelayed(i, rand);
    if (rand() <= s.ratio) return s.node;
    exclude.add(s.node);
  } else if (s) {
    if (rand() > s.ratio) return i.primary;
    exclude.add(i.primary);
  }
  const chosen = weighted(
    i.nodes.filter((n) => n.alive && n.weight > 0 && !exclude.has(n.id)),
    rand(),
  );
  const result = chosen ?? i.main;
  if (i.preferLowerDelay && result !== i.primary && delayed(result)) return leastDelayed(i, rand);
  return result;
}

/**
 * Following Patroni with no leader known (docs/behaviour.md#patroni): the node for a
 * read-only session, by weight among the alive nodes within the delay threshold; undefined
 * when none is.
 */
export function readOnlyNode(nodes: readonly LbNode[], rand: () => number): number | undefined {
  const fit = nodes.filter((n) => n.alive && !n.delayed);
  return weighted(fit, rand()) ?? fit[0]?.id;
}
