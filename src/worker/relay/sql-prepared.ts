// SQL-level PREPARE / EXECUTE / DEALLOCATE in a routed session (docs/behaviour.md#routing):
// EXECUTE and DEALLOCATE follow their PREPARE's node, as pgpool's where_to_send_deallocate;
// an EXECUTE in a writing transaction of a statement prepared on the standby only is
// prepared on the primary first (pgpool's send_prepare), its reply dropped.
import type { Destination } from '../../policy/route-decision.js';
import type { StatementClass } from '../../policy/statement-class.js';
import { TxStatus } from '../../protocol/tx-status.js';
import { serialize } from 'pg-protocol';
import type { SessionRouter } from '../routing/session-router.js';
import type { Leg } from './routed-leg.js';

export class SqlPrepared {
  /** PREPARE name → its text and the nodes that have it. */
  private readonly prepared = new Map<string, { sql: string; nodes: Set<number> }>();

  constructor(
    private readonly primary: Leg,
    private readonly standby: Leg,
    private readonly router: SessionRouter,
  ) {}

  /** DISCARD ALL / DEALLOCATE ALL ran on both nodes. */
  forgetAll(): void {
    this.prepared.clear();
  }

  /** Where the statement goes; the bookkeeping assumes it succeeds (a failed PREPARE leaves a name PostgreSQL then refuses). */
  async route(cls: StatementClass, sql: string, d: Destination): Promise<'primary' | 'standby' | 'both'> {
    const { name, use } = cls.prepare!;
    const known = this.prepared.get(name);
    if (use === 'define') {
      const to = d === 'lb' ? this.standby : this.primary;
      this.prepared.set(name, { sql, nodes: new Set([to.node]) });
      return to === this.standby ? 'standby' : 'primary';
    }
    if (!known) return 'primary';
    const standbyOnly = !known.nodes.has(this.primary.node);
    if (use === 'execute') {
      const writing = this.router.writing || this.router.primaryStatus === TxStatus.Failed;
      // Runs between cycles: nothing else is on the primary connection now.
      if (standbyOnly && !writing) return 'standby';
      if (standbyOnly) {
        this.primary.write(serialize.query(known.sql));
        await this.primary.drain(() => {});
        known.nodes.add(this.primary.node);
      }
      return 'primary';
    }
    this.prepared.delete(name);
    if (known.nodes.size === 2) return 'both';
    return standbyOnly ? 'standby' : 'primary';
  }
}
