// Reading a Prometheus text-format scrape: each series' value, the sample names, and the
// fixture of a real one from a primary and a standby that the Grafana dashboard's queries
// are checked against.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCRAPE_FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures/metrics/cluster-scrape.prom',
);

/** Every sample name (histograms' _bucket, _sum and _count included) with at least one sample. */
export function sampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return names;
}

/** Each series (name with its labels, as written) and its value. */
export function sampleValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** One scrape of pgpool-ts's /metrics on 127.0.0.1:`port`, as sampleValues. */
export async function scrape(port: number): Promise<Map<string, number>> {
  return sampleValues(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
}
