// A routed session's request cycle on one node (relay/routed-relay.ts): the client's
// messages to that leg, its replies to the client up to ReadyForQuery, moving on to the
// primary when a later message of an open cycle must not run on the standby. Its end is a
// callback, not a promise: the common cycle costs no promise and no microtask.
import { BackendCode, FrontendCode } from '../../protocol/codes.js';
import type { Message } from '../../protocol/message-reader.js';
import type { RoutedStatement, SessionRouter } from '../routing/session-router.js';
import type { OpenCycle, RoutedCounts } from './routed-cycle.js';
import { MOVED, type Leg } from './routed-leg.js';

/**
 * What a step of a request cycle gives the relay's pump: undefined when the cycle is
 * over; PENDING when it went on as a one-node cycle, whose end comes as a callback; or a
 * promise of either (a step that first waits, on the catalog say).
 */
export const PENDING = 1;
/** What a step that waited comes to: PENDING, or nothing (its cycle is over). */
export type StepEnd = typeof PENDING | void;
export type Step = Promise<StepEnd> | typeof PENDING | undefined;

/** What the one-node cycle uses of its relay. */
export interface OneNodeHost {
  readonly primary: Leg;
  readonly standby: Leg;
  readonly counts: RoutedCounts;
  readonly router: SessionRouter;
  /** A cycle was served by `node` (metrics). */
  served(node: number): void;
  /** One client message to a leg. */
  send(leg: Leg, m: Buffer): void;
  toClient(b: Buffer): void;
  /** The ReadyForQuery with the client's status (the node's own when it says the same). */
  ready(fromNode?: Buffer): void;
  /** The cycle is over (the inbox starts the next). */
  done(): void;
  /** The cycle failed: the relay ends. */
  failed(e: Error): void;
}

/** The one cycle in flight: fields, not a closure set per cycle. */
export class OneNodeCycle {
  /** A cycle still taking client messages (a Query's COPY data, a batch before its Sync). */
  open: OpenCycle | undefined;
  private cycle: OpenCycle | undefined;
  /** The leg whose replies are read now. */
  private leg: Leg | undefined;
  private standbyFailed = false;

  constructor(private readonly h: OneNodeHost) {}

  /** Sends the cycle's messages to `leg`; the host's done or failed is called at its end. */
  start(leg: Leg, messages: Buffer[], statements: RoutedStatement[], open: boolean): void {
    const o: OpenCycle = { leg, synced: !open, failed: false, statements };
    this.open = open || messages[0][0] === FrontendCode.Query ? o : undefined;
    this.cycle = o;
    this.leg = leg;
    this.standbyFailed = false;
    for (const m of messages) this.h.send(leg, m);
    leg.drainThen(this.reply, this.h.toClient, this.drained, this.fail);
  }

  /** A reply the drain looks at (an error, COPY IN): to the client, errors counted. */
  private readonly reply = (m: Message): void => {
    if (m.type === BackendCode.ErrorResponse) {
      const leg = this.leg!;
      this.h.counts.error(leg.node, m);
      this.cycle!.failed = true;
      if (leg === this.h.standby) this.standbyFailed = true;
    }
    this.h.toClient(m.raw);
  };

  private readonly drained = (status: number): void => {
    const o = this.cycle!;
    try {
      if (status === MOVED) {
        // The cycle went on on the primary: its replies follow there.
        this.leg = o.leg;
        o.leg.drainThen(this.reply, this.h.toClient, this.drained, this.fail);
        return;
      }
      this.open = undefined;
      this.h.served(o.leg.node);
      const primaryStatus = o.leg === this.h.primary ? status : undefined;
      this.h.router.completed(o.statements, !o.failed, primaryStatus, this.standbyFailed);
      this.h.ready(o.leg.takeReady());
    } catch (e) {
      return this.fail(e as Error);
    }
    this.cycle = this.leg = undefined;
    this.h.done();
  };

  private readonly fail = (e: Error): void => {
    this.open = undefined;
    this.cycle = this.leg = undefined;
    this.h.failed(e);
  };
}
