// Every metric name in one place. pgpool2_* names are pgpool2_exporter's, so its
// Grafana dashboard keeps working; pgpool_ts_* are what no exporter can see.
export const MetricNames = {
  frontendTotal: 'pgpool2_frontend_total',
  frontendUsed: 'pgpool2_frontend_used',
  frontendUsedRatio: 'pgpool2_frontend_used_ratio',
  clientsWaiting: 'pgpool_ts_clients_waiting',
  clientWaitSeconds: 'pgpool_ts_client_wait_seconds',
  children: 'pgpool_ts_children',
  rejections: 'pgpool_ts_rejections_total',
  cancelRequests: 'pgpool_ts_cancel_requests_total',
  workerRestarts: 'pgpool_ts_worker_restarts_total',
  supervisorAccepted: 'pgpool_ts_supervisor_accepted_total',
  cacheLookups: 'pgpool_ts_connection_cache_lookups_total',
  cacheEvictions: 'pgpool_ts_connection_cache_evictions_total',
  sessions: 'pgpool_ts_sessions_total',
  childExits: 'pgpool_ts_child_exits_total',
  bytes: 'pgpool_ts_bytes_total',
  backendConnectSeconds: 'pgpool_ts_backend_connect_seconds',
  resetSeconds: 'pgpool_ts_reset_seconds',
  queryDurationSeconds: 'pgpool_ts_query_duration_seconds',
  transactionDurationSeconds: 'pgpool_ts_transaction_duration_seconds',
} as const;
