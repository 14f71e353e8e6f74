// The routing settings the policy unit tests start from: pgpool's defaults with load
// balancing on (disable_load_balance_on_write = transaction).
import type { RouteSettings } from '../../src/policy/route-decision.js';

export const DEFAULT_ROUTE_SETTINGS: RouteSettings = {
  load_balance_mode: true,
  disable_load_balance_on_write: 'transaction',
  allow_sql_comments: false,
  ignore_leading_white_space: true,
};
