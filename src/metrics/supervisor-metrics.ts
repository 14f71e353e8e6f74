// The supervisor's metrics: read from its state at scrape time (collect callbacks), so
// nothing on the accept or relay path updates a metric. The supervisor imports this module
// (and so prom-client) only when metrics_port is set.
import http from 'node:http';
import client from 'prom-client';
import { MetricNames } from './names.js';
import { readCounter } from './read-counter.js';

export interface SupervisorState {
  numInitChildren(): number;
  children(): { total: number; busy: number };
  /** Children reserved for admin_users (admin_reserved_children), by whether one serves a client. */
  reservedChildren(): { busy: number; idle: number };
  waiting(): number;
  counters(): {
    rejectedReserved: number;
    rejectedQueueFull: number;
    cancelsForwarded: number;
    cancelsUnknown: number;
    workerRestarts: number;
    supervisorAccepted: number;
  };
}

export function supervisorRegistry(state: SupervisorState): {
  registry: client.Registry;
  waitSeconds: client.Histogram;
} {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, labels: { process: 'supervisor' } });
  new client.Gauge({
    name: MetricNames.frontendTotal,
    help: 'Number of children (num_init_children)',
    registers: [registry],
    collect() {
      this.set(state.numInitChildren());
    },
  });
  new client.Gauge({
    name: MetricNames.frontendUsed,
    help: 'Children serving a client',
    registers: [registry],
    collect() {
      this.set(state.children().busy);
    },
  });
  new client.Gauge({
    name: MetricNames.frontendUsedRatio,
    help: 'Children serving a client, as a share of num_init_children',
    registers: [registry],
    collect() {
      this.set(state.children().busy / Math.max(1, state.numInitChildren()));
    },
  });
  new client.Gauge({
    name: MetricNames.clientsWaiting,
    help: 'Clients waiting for a free child',
    registers: [registry],
    collect() {
      this.set(state.waiting());
    },
  });
  new client.Gauge({
    name: MetricNames.children,
    help: 'Live children by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const c = state.children();
      this.set({ state: 'busy' }, c.busy);
      this.set({ state: 'idle' }, c.total - c.busy);
    },
  });
  new client.Gauge({
    name: MetricNames.reservedChildren,
    help: 'Children reserved for admin_users (admin_reserved_children), by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const r = state.reservedChildren();
      this.set({ state: 'busy' }, r.busy);
      this.set({ state: 'idle' }, r.idle);
    },
  });
  // Counters, typed so (promtool): they only grow while the supervisor runs.
  readCounter(
    registry,
    MetricNames.rejections,
    'Clients refused before reaching a child, by reason',
    ['reason'],
    (set) => {
      const c = state.counters();
      set({ reason: 'reserved_connections' }, c.rejectedReserved);
      set({ reason: 'wait_queue_full' }, c.rejectedQueueFull);
    },
  );
  readCounter(registry, MetricNames.cancelRequests, 'Cancel requests received, by result', ['result'], (set) => {
    const c = state.counters();
    set({ result: 'forwarded' }, c.cancelsForwarded);
    set({ result: 'unknown_key' }, c.cancelsUnknown);
  });
  readCounter(registry, MetricNames.workerRestarts, 'Worker processes restarted after dying', [], (set) =>
    set({}, state.counters().workerRestarts),
  );
  readCounter(
    registry,
    MetricNames.supervisorAccepted,
    'Clients the supervisor accepted itself (no worker had an idle child, start-up, reserved_connections); workers accept the rest',
    [],
    (set) => set({}, state.counters().supervisorAccepted),
  );
  // Observed when a waiting client is handed to a child (clients served at once are not waits).
  const waitSeconds = new client.Histogram({
    name: MetricNames.clientWaitSeconds,
    help: 'Time clients waited for a free child',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  return { registry, waitSeconds };
}

export { exporterMetricsText } from './exporter-metrics.js';

/** The supervisor's and the workers' metrics as one registry: equal series summed. */
export function aggregate(parts: readonly unknown[]): client.Registry {
  return client.AggregatorRegistry.aggregate(parts as Parameters<typeof client.AggregatorRegistry.aggregate>[0]);
}

/** Serves GET /metrics in Prometheus text format 0.0.4 on each address; `body` renders one scrape. */
export async function serveMetrics(
  body: () => Promise<string>,
  addresses: readonly string[],
  port: number,
): Promise<http.Server[]> {
  const servers: http.Server[] = [];
  for (const host of addresses) {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
        return;
      }
      body().then(
        (text) => res.writeHead(200, { 'content-type': client.Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host === '*' ? '0.0.0.0' : host, () => resolve());
    });
    servers.push(server);
  }
  return servers;
}
