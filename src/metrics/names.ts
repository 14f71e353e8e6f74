// Every metric name in one place. pgpool2_* names are pgpool2_exporter's, so its
// Grafana dashboard keeps working; pgpool_ts_* are what no exporter can see.
export const MetricNames = {
  frontendTotal: 'pgpool2_frontend_total',
  frontendUsed: 'pgpool2_frontend_used',
  frontendUsedRatio: 'pgpool2_frontend_used_ratio',
  clientsWaiting: 'pgpool_ts_clients_waiting',
  children: 'pgpool_ts_children',
  rejections: 'pgpool_ts_rejections_total',
  cancelRequests: 'pgpool_ts_cancel_requests_total',
  workerRestarts: 'pgpool_ts_worker_restarts_total',
} as const;
