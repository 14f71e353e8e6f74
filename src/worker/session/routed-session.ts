// The relay of a session routed over its primary and its load-balance node
// (docs/behaviour.md#routing): its router, its prepared-statement registry, the relay.
import type net from 'node:net';
import type { ServerConnection } from '../../backend/server-connection.js';
import type { Logger } from '../../logging/logger.js';
import type { PoolerCommandHook, RelayEnd } from '../relay/relay.js';
import type { RequestTiming } from '../relay/request-timing.js';
import { RoutedRelay } from '../relay/routed-relay.js';
import { PreparedStatements } from '../routing/prepared-statements.js';
import { SessionRouter } from '../routing/session-router.js';
import type { SessionEnv, SessionNames } from './session-env.js';

export function routedRelay(
  env: SessionEnv,
  who: { readonly client: net.Socket; readonly peer: string; readonly log: () => Logger; readonly names: SessionNames },
  primary: ServerConnection,
  standby: ServerConnection,
  database: string,
  onEnd: (end: RelayEnd) => void,
  poolerCommand: PoolerCommandHook,
  timing: RequestTiming,
): RoutedRelay {
  const routing = env.routing!;
  const prepared = new PreparedStatements();
  const router = new SessionRouter({
    config: () => env.config,
    classifier: routing.classifier,
    facts: routing.facts,
    prepared,
    database,
    log: who.log,
    client: who.peer,
    lbNode: standby.address.node,
    lbDelayed: () => env.nodeDelayed(standby.address.node),
    readOnStandby: () => env.readOnStandby(who.names, standby.address.node),
  });
  return new RoutedRelay({
    client: who.client,
    primary,
    standby,
    router,
    prepared,
    poolerCommand,
    onEnd,
    timing,
    served: (node) => env.cycleServed(node),
    counts: env.statementCounts,
    // failover_on_backend_shutdown: PostgreSQL said it shuts down (57P01/57P02) on one of the session's nodes.
    shutdown: (node) => {
      if (env.config.failover_on_backend_shutdown) env.nodeUnreachable(node);
    },
  });
}
