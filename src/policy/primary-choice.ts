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

/** What a standby's pg_stat_wal_receiver says: whether it streams, and from where. */
export interface WalReceiver {
  readonly standby: number;
  readonly streaming: boolean;
  /** From its conninfo: host ('' when absent) and port ('' when absent). */
  readonly host: string;
  readonly port: string;
}

/** A node's address as pgpool.conf has it. */
export interface ConfiguredAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * detach_false_primary (docs/behaviour.md#failover): the nodes that say they are primary
 * but are not, with pgpool's log lines. No standby: the lowest-id primary stays, the others
 * are false. With standbys: the primary every standby streams from (its conninfo host and
 * port match that node's backend_hostname and backend_port) is the true one and every other
 * primary is false; none such: nothing is decided.
 */
export function falsePrimaries(
  primaries: readonly number[],
  standbys: readonly number[],
  receivers: readonly WalReceiver[],
  address: (id: number) => ConfiguredAddress,
): { readonly invalid: number[]; readonly lines: string[] } {
  const sorted = [...primaries].sort((a, b) => a - b);
  if (sorted.length < 2) return { invalid: [], lines: [] };
  if (standbys.length === 0) return { invalid: sorted.slice(1), lines: [] };
  const lines: string[] = [];
  let truePrimary: number | undefined;
  for (const p of sorted) {
    const a = address(p);
    let owned = 0;
    for (const s of standbys) {
      const r = receivers.find((x) => x.standby === s);
      if (r?.streaming && sameServer(a, r)) owned++;
      else if (r)
        lines.push(
          `verify_backend_node_status: primary ${p} does not connect to standby ${s}` +
            ` (pgpool.conf backend: (host="${a.host}" port=${a.port}) does not match PostgreSQL primary_conninfo: (host="${r.host}" port=${r.port}))`,
        );
    }
    if (owned === standbys.length) truePrimary = p;
    else lines.push(`verify_backend_node_status: primary ${p} owns only ${owned} standbys out of ${standbys.length}`);
  }
  if (truePrimary === undefined) return { invalid: [], lines };
  return { invalid: sorted.filter((p) => p !== truePrimary), lines };
}

/** A socket-directory backend matches a conninfo with no host or localhost, as pgpool's check. */
function sameServer(a: ConfiguredAddress, r: WalReceiver): boolean {
  const hostMatches = a.host.startsWith('/')
    ? r.host === '' || r.host === 'localhost' || r.host === a.host
    : r.host === a.host;
  return hostMatches && (r.port === '' ? a.port === 5432 : Number(r.port) === a.port);
}

/** The host and port of a libpq conninfo string (key=value, values optionally single-quoted). */
export function conninfoHostPort(conninfo: string): { host: string; port: string } {
  const out: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/g;
  for (let m = re.exec(conninfo); m; m = re.exec(conninfo)) out[m[1]] = (m[2] ?? m[3]).replace(/\\(.)/g, '$1');
  return { host: out.host ?? out.hostaddr ?? '', port: out.port ?? '' };
}
