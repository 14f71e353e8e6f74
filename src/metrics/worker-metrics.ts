// A worker's metrics, read from its state when the supervisor asks (collect callbacks),
// so neither the relay nor a session updates a metric on its way. The supervisor merges
// every worker's getMetricsAsJSON() with AggregatorRegistry.aggregate(). The worker imports
// this module (and prom-client) only at the first scrape.
import client from 'prom-client';
import { MetricNames } from './names.js';
import { readCounter } from './read-counter.js';
import { histogramMetric, type WorkerCounts } from './duration-histogram.js';

export interface WorkerState {
  /** Connection cache lookups and evictions, over every child this worker ever hosted. */
  cache(): { hits: number; misses: number; evictions: number };
  /** Sessions ended, by how they ended. */
  sessions(): ReadonlyMap<string, number>;
  /** Children that exited, by reason. */
  childExits(): ReadonlyMap<string, number>;
  /** Bytes relayed: from clients to PostgreSQL and back. */
  bytes(): { fromClients: number; toClients: number };
  /** pool_mode = transaction: clients by what they hold (docs/transaction-pooling.md). */
  transactionClients(): {
    readonly idle: number;
    readonly active: number;
    readonly pinned: number;
    readonly waiting: number;
  };
  /** Load-balanced sessions: request cycles by node, statement classifications and catalog lookups. */
  routing(): {
    readonly cycles: ReadonlyMap<number, number>;
    readonly classified: { readonly cached: number; readonly parsed: number };
    readonly catalog: { readonly cached: number; readonly queried: number };
  };
}

export function workerRegistry(state: WorkerState, counts: WorkerCounts, processLabel: string): client.Registry {
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
  new client.Gauge({
    name: MetricNames.transactionClients,
    help: 'pool_mode = transaction: clients idle (no child), active (a transaction runs), pinned (keep their backend connection), waiting (for a child)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const c = state.transactionClients();
      for (const k of ['idle', 'active', 'pinned', 'waiting'] as const) this.set({ state: k }, c[k]);
    },
  });
  registry.registerMetric(
    histogramMetric(MetricNames.backendConnectSeconds, 'Time to open and authenticate a new backend connection', () => [
      [{}, counts.connectSeconds],
    ]),
  );
  registry.registerMetric(
    histogramMetric(
      MetricNames.resetSeconds,
      'Time to reset a backend connection (reset_query_list) before caching it',
      () => [[{}, counts.resetSeconds]],
    ),
  );
  registry.registerMetric(
    counts.queries.metric(
      MetricNames.queryDurationSeconds,
      'Time from a request (Query, Sync, FunctionCall) reaching pgpool-ts to its ReadyForQuery, by database',
    ),
  );
  registry.registerMetric(
    counts.transactions.metric(
      MetricNames.transactionDurationSeconds,
      "Time from a transaction's first request to the ReadyForQuery that ends it (idle, not in a block), by database",
    ),
  );
  return registry;
}
