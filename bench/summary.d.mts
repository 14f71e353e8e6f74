// Types for bench/summary.mjs (the unit tests import it).
export interface RunResult {
  round: number;
  point: string;
  target: string;
  tps?: number;
  cpuPer10k?: number;
  rssMb?: number;
  failed?: number;
  error?: string;
}
export interface SummaryRow {
  point: string;
  target: string;
  tps: number;
  vsDirect: number;
  vsPgbouncer: number;
  vsPgpool2: number;
  cpuPer10k: number;
  rssMb: number;
  failed: number;
  errors: number;
}
export function median(values: readonly number[]): number;
export function roundOrder<T>(targets: readonly T[], round: number): T[];
export function summarize(results: readonly RunResult[], targets: readonly string[]): SummaryRow[];
