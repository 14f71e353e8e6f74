// pool_backend_stats' counters (docs/behaviour.md#statement-counts): per node, statements
// sent there by kind and ErrorResponses read from there by severity. Each worker keeps
// its own since it started; the supervisor adds them up for SHOW, PCP and /metrics. Pure.
import type { StatKind } from '../policy/statement-class.js';

/** The counter columns of SHOW pool_backend_stats, in order. */
export const COUNT_COLUMNS = [
  'select_cnt',
  'insert_cnt',
  'update_cnt',
  'delete_cnt',
  'ddl_cnt',
  'other_cnt',
  'panic_cnt',
  'fatal_cnt',
  'error_cnt',
] as const;

/** Per node id, the counters in COUNT_COLUMNS order (plain data: it crosses IPC). */
export type NodeCounts = Record<number, number[]>;

const KIND_INDEX: Record<StatKind, number> = { select: 0, insert: 1, update: 2, delete: 3, ddl: 4, other: 5 };
const SEVERITY_INDEX: Record<string, number> = { PANIC: 6, FATAL: 7, ERROR: 8 };

export class StatementCounts {
  private readonly nodes = new Map<number, number[]>();

  private of(node: number): number[] {
    let c = this.nodes.get(node);
    if (!c) this.nodes.set(node, (c = new Array<number>(COUNT_COLUMNS.length).fill(0)));
    return c;
  }

  /** A statement of `kind` was sent to `node`. */
  sent(node: number, kind: StatKind): void {
    this.of(node)[KIND_INDEX[kind]]++;
  }

  /** An ErrorResponse of `severity` (its non-localized V field, else S) came from `node`. */
  failed(node: number, severity: string | undefined): void {
    const i = severity === undefined ? undefined : SEVERITY_INDEX[severity];
    if (i !== undefined) this.of(node)[i]++;
  }

  snapshot(): NodeCounts {
    return Object.fromEntries([...this.nodes].map(([n, c]) => [n, [...c]]));
  }
}

/** Every worker's counts added up. */
export function sumCounts(all: readonly NodeCounts[]): NodeCounts {
  const out: NodeCounts = {};
  for (const counts of all)
    for (const [node, c] of Object.entries(counts)) {
      const sum = (out[Number(node)] ??= new Array<number>(COUNT_COLUMNS.length).fill(0));
      c.forEach((v, i) => (sum[i] += v));
    }
  return out;
}

/** Node `id`'s counters as report cells. */
export function countCells(counts: NodeCounts, id: number): string[] {
  return (counts[id] ?? new Array<number>(COUNT_COLUMNS.length).fill(0)).map(String);
}
