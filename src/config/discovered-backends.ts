// Backends pgpool.conf does not name but Patroni does (docs/behaviour.md#patroni): they
// take free node slots, as backend_hostnameN/backend_portN would, in the running
// configuration only; a reload keeps them unless the file now names that slot itself.
import type { IndexedValue, PgpoolConfig } from './schema.js';

export interface SlotAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

function withSlots<V>(
  p: IndexedValue<V>,
  slots: readonly SlotAddress[],
  value: (s: SlotAddress) => V,
): IndexedValue<V> {
  const nodes = new Map(p.nodes);
  for (const s of slots) nodes.set(s.id, value(s));
  return { ...p, nodes };
}

/** `cfg` with these slots' addresses set; slots the configuration names already are left as they are. */
export function withBackends(cfg: PgpoolConfig, slots: readonly SlotAddress[]): PgpoolConfig {
  const free = slots.filter((s) => (cfg.backend_port.nodes.get(s.id) ?? 0) <= 0);
  if (free.length === 0) return cfg;
  return Object.freeze({
    ...cfg,
    backend_hostname: withSlots(cfg.backend_hostname, free, (s) => s.host),
    backend_port: withSlots(cfg.backend_port, free, (s) => s.port),
  });
}
