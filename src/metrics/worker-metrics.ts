// A worker's metrics, read from its state when the supervisor asks (collect callbacks),
// so neither the relay nor a session updates a metric on its way. The supervisor merges
// every worker's getMetricsAsJSON() with AggregatorRegistry.aggregate().
import client from 'prom-client';
import { MetricNames } from './names.js';
import { readCounter } from './read-counter.js';
import { DurationsByDatabase } from './duration-histogram.js';

export interface WorkerState {
  /** Connection cache lookups and evictions, over every child this worker ever hosted. */
  cache(): { hits: number; misses: number; evictions: number };
  /** Sessions ended, by how they ended. */
  sessions(): ReadonlyMap<string, number>;
  /** Children that exited, by reason. */
  childExits(): ReadonlyMap<string, number>;
  /** Bytes relayed: from clients to PostgreSQL and back. */
  bytes(): { fromClients: number; toClients: number };
  /** Load-balanced sessions: request cycles by node, statement classifications and catalog lookups. */
  routing(): {
    readonly cycles: ReadonlyMap<number, number>;
    readonly classified: { readonly cached: number; readonly parsed: number };
    readonly catalog: { readonly cached: number; readonly queried: number };
  };
}

export interface WorkerMetrics {
  readonly registry: client.Registry;
  readonly connectSeconds: client.Histogram;
  readonly resetSeconds: client.Histogram;
  /** Counted by the relay (request-timing.ts), per database. */
  readonly queries: DurationsByDatabase;
  readonly transactions: DurationsByDatabase;
}

export function workerRegistry(state: WorkerState, processLabel: string): WorkerMetrics {
  const registry = new client.Registry();
  // process_* and nodejs_* per process: the merge keeps differently labelled series apart.
  client.collectDefaultMetrics({ register: registry, labels: { process: processLabel } });
  readCounter(
    registry,
    MetricNames.cacheLookups,
    "Backend connections asked of a child's cache, by result (hit: reused)",
    ['result'],
    (set) => {
      const c = state.cache();
      set({ result: 'hit' }, c.hits);
      set({ result: 'miss' }, c.misses);
    },
  );
  readCounter(
    registry,
    MetricNames.cacheEvictions,
    'Cached backend connections closed to make room (max_pool reached)',
    [],
    (set) => set({}, state.cache().evictions),
  );
  readCounter(registry, MetricNames.sessions, 'Client sessions ended, by how they ended', ['end'], (set) => {
    for (const [end, n] of state.sessions()) set({ end }, n);
  });
  readCounter(registry, MetricNames.childExits, 'Children that exited, by reason', ['reason'], (set) => {
    for (const [reason, n] of state.childExits()) set({ reason }, n);
  });
  readCounter(registry, MetricNames.bytes, 'Bytes relayed, by direction', ['direction'], (set) => {
    const b = state.bytes();
    set({ direction: 'client_to_backend' }, b.fromClients);
    set({ direction: 'backend_to_client' }, b.toClients);
  });
  readCounter(
    registry,
    MetricNames.routedRequests,
    'Request cycles (a Query, or messages up to Sync) of load-balanced sessions, by the node that served them',
    ['node'],
    (set) => {
      for (const [node, n] of state.routing().cycles) set({ node: String(node) }, n);
    },
  );
  readCounter(
    registry,
    MetricNames.classifications,
    'Statements classified for routing, by whether the text was in the cache or parsed',
    ['result'],
    (set) => {
      const c = state.routing().classified;
      set({ result: 'cached' }, c.cached);
      set({ result: 'parsed' }, c.parsed);
    },
  );
  readCounter(
    registry,
    MetricNames.catalogLookups,
    'Reads whose catalog facts (system catalog, temporary, unlogged, volatile) were cached or asked of the primary',
    ['result'],
    (set) => {
      const c = state.routing().catalog;
      set({ result: 'cached' }, c.cached);
      set({ result: 'queried' }, c.queried);
    },
  );
  const connectSeconds = new client.Histogram({
    name: MetricNames.backendConnectSeconds,
    help: 'Time to open and authenticate a new backend connection',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const resetSeconds = new client.Histogram({
    name: MetricNames.resetSeconds,
    help: 'Time to reset a backend connection (reset_query_list) before caching it',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
    registers: [registry],
  });
  const queries = new DurationsByDatabase();
  const transactions = new DurationsByDatabase();
  registry.registerMetric(
    queries.metric(
      MetricNames.queryDurationSeconds,
      'Time from a request (Query, Sync, FunctionCall) reaching pgpool-ts to its ReadyForQuery, by database',
    ),
  );
  registry.registerMetric(
    transactions.metric(
      MetricNames.transactionDurationSeconds,
      "Time from a transaction's first request to the ReadyForQuery that ends it (idle, not in a block), by database",
    ),
  );
  return { registry, connectSeconds, resetSeconds, queries, transactions };
}
