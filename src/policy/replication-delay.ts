// The replication check's arithmetic (docs/behaviour.md#replication-check), pure: LSNs to
// byte positions, each standby's delay and pg_stat_replication states from one round of
// answers, whether a delay keeps reads off a standby, and which delays are logged.

/** An LSN as PostgreSQL prints it (`X/Y`, hex) as a byte position: X·2³² + Y, as pg_wal_lsn_diff counts. */
export function lsnBytes(text: string): number | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) return undefined;
  return parseInt(m[1], 16) * 2 ** 32 + parseInt(m[2], 16);
}

/** One row of the primary's pg_stat_replication. */
export interface ReplicationRow {
  readonly applicationName: string;
  readonly state: string | null;
  readonly syncState: string | null;
  /** replay_lag in µs; null when PostgreSQL reports none (an idle, caught-up standby). */
  readonly replayLagUs: number | null;
}

export interface DelayInputs {
  readonly primary: number;
  /** Every configured node but the primary. */
  readonly standbys: readonly number[];
  /** The primary's current WAL position and each answering standby's replay position. */
  readonly lsn: ReadonlyMap<number, number>;
  readonly rows: readonly ReplicationRow[];
  readonly applicationName: (id: number) => string;
  /** delay_threshold_by_time > 0: the delay is replay_lag, in µs. */
  readonly byTime: boolean;
}

export interface StandbyDelay {
  readonly replicationDelay: number;
  readonly delayByTime: boolean;
  readonly replicationState: string;
  readonly replicationSyncState: string;
}

/**
 * Each standby's delay and states. The states come from the pg_stat_replication row whose
 * application_name equals the node's backend_application_name exactly, for nodes that
 * did not answer too (auto_failback relies on that); NULLs become ''.
 */
export function standbyDelays(i: DelayInputs): Map<number, StandbyDelay> {
  const out = new Map<number, StandbyDelay>();
  const primaryLsn = i.lsn.get(i.primary);
  for (const id of i.standbys) {
    const name = i.applicationName(id);
    const row = name === '' ? undefined : i.rows.find((r) => r.applicationName === name);
    const standbyLsn = i.lsn.get(id);
    let delay = 0;
    if (i.byTime) delay = row?.replayLagUs ?? 0;
    else if (primaryLsn !== undefined && standbyLsn !== undefined) delay = Math.max(0, primaryLsn - standbyLsn);
    out.set(id, {
      replicationDelay: delay,
      delayByTime: i.byTime,
      replicationState: row?.state ?? '',
      replicationSyncState: row?.syncState ?? '',
    });
  }
  return out;
}

export interface DelayThresholds {
  /** Bytes; 0 = off. */
  readonly delay_threshold: number;
  /** Milliseconds; 0 = off. */
  readonly delay_threshold_by_time: number;
}

/**
 * pgpool's check_replication_delay(): −1 over delay_threshold_by_time, −2 over
 * delay_threshold, 0 when reads may go to the standby. A delay measured in time is
 * compared only with the time threshold (pgpool also compares it with the byte one,
 * µs against bytes; its documentation says that threshold is then ignored).
 */
export function delayVerdict(
  node: { readonly replicationDelay: number; readonly delayByTime: boolean },
  t: DelayThresholds,
): 0 | -1 | -2 {
  if (node.delayByTime) {
    return t.delay_threshold_by_time > 0 && node.replicationDelay > t.delay_threshold_by_time * 1000 ? -1 : 0;
  }
  return t.delay_threshold > 0 && node.replicationDelay > t.delay_threshold ? -2 : 0;
}

/** The log_standby_delay line for a standby, or undefined when none is due. */
export function standbyDelayLine(
  id: number,
  primary: number,
  d: StandbyDelay,
  mode: 'always' | 'if_over_threshold' | 'none',
  t: DelayThresholds,
): string | undefined {
  const due = mode === 'always' ? d.replicationDelay > 0 : mode === 'if_over_threshold' && delayVerdict(d, t) !== 0;
  if (!due) return undefined;
  const behind = d.delayByTime ? `${(d.replicationDelay / 1e6).toFixed(6)} second(s)` : `${d.replicationDelay} bytes`;
  return `Replication of node: ${id} is behind ${behind} from the primary server (node: ${primary})`;
}

/** SHOW pool_nodes' replication_delay: bytes, or seconds with six decimals and " second(s)". */
export function delayColumn(d: { readonly replicationDelay: number; readonly delayByTime: boolean }): string {
  if (!d.delayByTime) return String(d.replicationDelay);
  const s = d.replicationDelay / 1e6;
  return `${s.toFixed(6)} ${s >= 2 ? 'seconds' : 'second'}`;
}
