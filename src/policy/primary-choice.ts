// Which node is the primary (docs/behaviour.md#primary-detection), pure: pgpool's
// find_primary_node() and verify_backend_node_status() decision once each alive node
// has answered pg_is_in_recovery() (or not).

/** What one probe found: pg_is_in_recovery() false, true, or no answer. */
export type ProbeResult = 'primary' | 'standby' | 'invalid';

export interface NodeProbe {
  readonly id: number;
  readonly result: ProbeResult;
}

/**
 * The primary's id, or undefined when none claims to be one. With no standby among the
 * answers the lowest-id primary is kept (the others are ignored for this decision); with
 * at least one standby and several primaries pgpool keeps the last one it found, the
 * highest id (detach_false_primary, which would decide by pg_stat_wal_receiver, is not
 * applied here).
 */
export function choosePrimary(probes: readonly NodeProbe[]): number | undefined {
  const primaries = probes.filter((p) => p.result === 'primary').map((p) => p.id);
  if (primaries.length === 0) return undefined;
  const sorted = [...primaries].sort((a, b) => a - b);
  const anyStandby = probes.some((p) => p.result === 'standby');
  return anyStandby ? sorted[sorted.length - 1] : sorted[0];
}

/** backend_flag's ALWAYS_PRIMARY: the flagged node is the primary without asking it (the lowest id when several are). */
export function alwaysPrimary(flagOf: (id: number) => string, nodes: readonly number[]): number | undefined {
  return nodes.find((id) =>
    flagOf(id)
      .split('|')
      .some((f) => f.trim() === 'ALWAYS_PRIMARY'),
  );
}
