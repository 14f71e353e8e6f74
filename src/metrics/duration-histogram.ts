// Query and transaction durations per database. The relay adds to plain typed arrays
// (no labels hashed, nothing allocated per observation); prom-client sees them only at
// scrape time, through a metric object whose get() returns histogram-shaped values
// that AggregatorRegistry sums across workers like any prom-client histogram.
import type client from 'prom-client';

/** Upper bounds in seconds (Prometheus "le"), from a cached SELECT to a long report. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** One database's counts: per-bucket (not cumulative), then sum and count. */
export class DurationCounts {
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1); // last: above every bound
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** Durations of one kind (queries or transactions), by database. */
export class DurationsByDatabase {
  private readonly byDatabase = new Map<string, DurationCounts>();

  /** The counts a session adds to; looked up once per session, not per query. */
  of(database: string): DurationCounts {
    let c = this.byDatabase.get(database);
    if (!c) this.byDatabase.set(database, (c = new DurationCounts()));
    return c;
  }

  /** A prom-client metric (registerMetric) exposing these counts as a histogram. */
  metric(name: string, help: string): client.Metric {
    const get = async () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [database, c] of this.byDatabase) {
        let acc = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          acc += c.buckets[i];
          values.push({ labels: { database, le }, value: acc, metricName: `${name}_bucket` });
        });
        values.push({ labels: { database, le: '+Inf' }, value: c.count, metricName: `${name}_bucket` });
        values.push({ labels: { database }, value: c.sum, metricName: `${name}_sum` });
        values.push({ labels: { database }, value: c.count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    };
    return { name, help, get } as unknown as client.Metric;
  }
}
