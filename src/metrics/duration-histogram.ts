// Durations a worker counts: queries and transactions per database, backend connects and
// resets. They go into plain typed arrays (no labels hashed, nothing allocated per
// observation); prom-client, loaded only once something scrapes, sees them through a metric
// object whose get() returns histogram-shaped values that AggregatorRegistry sums across
// workers like any prom-client histogram.
import type client from 'prom-client';

/** Upper bounds in seconds (Prometheus "le"), from a cached SELECT to a long report. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Counts of one series: per bucket of `bounds` (not cumulative, the last above every bound), sum and count. */
export class DurationCounts {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = DURATION_BUCKETS) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }
}

type HistogramSeries = Iterable<readonly [labels: Readonly<Record<string, string>>, counts: DurationCounts]>;

/** A prom-client metric (registerMetric) exposing `series()` as one histogram, summed across workers. */
export function histogramMetric(name: string, help: string, series: () => HistogramSeries): client.Metric {
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [labels, c] of series()) {
      let acc = 0;
      c.bounds.forEach((le, i) => {
        acc += c.buckets[i];
        values.push({ labels: { ...labels, le }, value: acc, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: c.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...labels }, value: c.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...labels }, value: c.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  return { name, help, get } as unknown as client.Metric;
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
    return histogramMetric(name, help, () => [...this.byDatabase].map(([database, c]) => [{ database }, c] as const));
  }
}

/** Upper bounds of the backend connect and reset histograms. */
export const CONNECT_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
export const RESET_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];

/** What a worker counts for its metrics in plain arrays, whether or not anything scrapes them. */
export interface WorkerCounts {
  readonly connectSeconds: DurationCounts;
  readonly resetSeconds: DurationCounts;
  /** Counted by the relay (request-timing.ts), per database. */
  readonly queries: DurationsByDatabase;
  readonly transactions: DurationsByDatabase;
}

export function workerCounts(): WorkerCounts {
  return {
    connectSeconds: new DurationCounts(CONNECT_BUCKETS),
    resetSeconds: new DurationCounts(RESET_BUCKETS),
    queries: new DurationsByDatabase(),
    transactions: new DurationsByDatabase(),
  };
}
