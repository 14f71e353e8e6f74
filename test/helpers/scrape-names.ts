// The names in a Prometheus text-format scrape, and the fixture of a real one from a
// primary and a standby that the Grafana dashboard's queries are checked against.
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
