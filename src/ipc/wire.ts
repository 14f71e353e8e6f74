// The config snapshot in a JSON-safe form for the IPC channel (child_process's default
// serialization is JSON): every Map becomes its entry list and back.
import type { PgpoolConfig } from '../config/schema.js';

export type WireConfig = { readonly json: string };

export function encodeConfig(cfg: PgpoolConfig): WireConfig {
  return { json: JSON.stringify(cfg, (_k, v: unknown) => (v instanceof Map ? { $map: [...v] } : v)) };
}

export function decodeConfig(w: WireConfig): PgpoolConfig {
  return JSON.parse(w.json, (_k, v: unknown) =>
    v && typeof v === 'object' && '$map' in v ? new Map((v as { $map: [unknown, unknown][] }).$map) : v,
  ) as PgpoolConfig;
}
