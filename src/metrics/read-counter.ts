// A Prometheus counter whose value is read from the owner's state at scrape time, so
// nothing on the accept or relay path updates a metric.
import client from 'prom-client';

export function readCounter(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, v: number) => void) => void,
): void {
  new client.Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, v));
    },
  });
}
