// One connection from the pooler to one PostgreSQL, with no process affinity: what it
// reported at start-up (replayed to the next client on reuse) and its state machine
// (docs/architecture.md#state-machines). `transition` is the only code that changes the
// state, and it arms and disarms what each state needs: the watch and connection_life_time
// while cached, Terminate when closed.
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import { parameterStatus } from '../protocol/backend-write.js';
import type { BackendAddress } from './address.js';

export type AuthMethod = 'trust' | 'cleartext' | 'md5' | 'scram';

/**
 * starting: the start-up exchange runs · leased: one user has it (a client's session, the
 * capacity check) · resetting: the pooler drains and resets it after its client left ·
 * cached: idle in a child's cache · closed: Terminate sent, the socket is going.
 */
export type ServerState = 'starting' | 'leased' | 'resetting' | 'cached' | 'closed';

const NEXT: Readonly<Record<ServerState, readonly ServerState[]>> = {
  starting: ['leased', 'closed'],
  leased: ['resetting', 'closed'],
  resetting: ['cached', 'closed'],
  cached: ['leased', 'closed'],
  closed: [],
};

/** Whether a connection in state `from` may go to `to` (pure; the table above). */
export const mayTransition = (from: ServerState, to: ServerState): boolean => NEXT[from].includes(to);

/** How long a closed connection's socket may take to finish before it is destroyed. */
const CLOSE_GRACE_MS = 5000;

export class ServerConnection {
  private current: ServerState = 'starting';
  pid = 0;
  secret: Buffer = Buffer.alloc(0);
  /** ParameterStatus values, in the order PostgreSQL first reported them (setParam changes them). */
  private readonly paramValues = new Map<string, string>();
  /** paramValues as ParameterStatus messages, built once for every client greeted until a value changes. */
  private statusMessages: Buffer | undefined;
  /** NegotiateProtocolVersion from PostgreSQL, replayed to clients that reuse this connection. */
  negotiate: Buffer | undefined;
  authMethod: AuthMethod = 'trust';
  /** Password used at start-up, kept so a later client can be checked against it. */
  password: string | undefined;
  readonly createdAt = Date.now();
  /** When it last went into a cache (ms epoch): the eviction order. */
  releasedAt = 0;
  /** Times handed to a client (pgpool's pool_counter). */
  timesUsed = 0;
  /** A connection to another node leased and cached with this one (a routed session's load-balance node); closed with it. */
  companion: ServerConnection | undefined;
  private cachedWatch: (() => void) | undefined;
  private lifeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly address: BackendAddress,
    /** Sorted startup packet: what PostgreSQL got, and the cache key. */
    readonly startupKey: Buffer,
    readonly user: string,
    readonly database: string,
  ) {
    // PostgreSQL went away (or the socket failed): nothing more can be done with it.
    socket.on('close', () => (this.cachedWatch ? this.cachedWatch() : this.transition('closed')));
  }

  /** The node it is connected to. */
  get node(): number {
    return this.address.node;
  }

  get state(): ServerState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  /**
   * The only mutator of the state. Going to `closed` is allowed from anywhere and
   * idempotent; any other move outside the table is a bug and throws.
   * `cached` takes connection_life_time (ms, 0 = none) and what to call when the
   * connection dies or expires while cached.
   */
  transition(to: ServerState, cached?: { lifeTimeMs: number; onGone: () => void }): void {
    const from = this.current;
    if (from === to && to === 'closed') return;
    if (to !== 'closed' && !mayTransition(from, to))
      throw new Error(`backend connection ${this.pid}: ${from} → ${to} is not a transition`);
    if (from === 'cached') this.disarmCached();
    this.current = to;
    if (to === 'cached') this.armCached(cached!.lifeTimeMs, cached!.onGone);
    else if (to === 'closed') {
      this.terminate();
      this.companion?.close();
      this.companion = undefined;
    }
  }

  setParam(name: string, value: string): void {
    this.paramValues.set(name, value);
    this.statusMessages = undefined;
  }

  /** One ParameterStatus message per parameter, for greeting a client; `overrides` replace values (and add parameters). */
  parameterStatuses(overrides?: ReadonlyMap<string, string>): Buffer {
    if (overrides) {
      const values = new Map([...this.paramValues, ...overrides]);
      return Buffer.concat([...values].map(([k, v]) => parameterStatus(k, v)));
    }
    return (this.statusMessages ??= Buffer.concat([...this.paramValues].map(([k, v]) => parameterStatus(k, v))));
  }

  /** Sends Terminate and closes (any state). */
  close(): void {
    this.transition('closed');
  }

  /** While cached: any byte or close from PostgreSQL (its shutdown FATAL, say) ends it. */
  private armCached(lifeTimeMs: number, onGone: () => void): void {
    this.releasedAt = Date.now();
    const gone = () => {
      if (this.current !== 'cached') return;
      this.transition('closed');
      onGone();
    };
    this.cachedWatch = gone;
    this.socket.on('data', gone);
    this.socket.on('close', gone);
    this.socket.on('error', gone);
    this.socket.resume();
    if (lifeTimeMs > 0) {
      this.lifeTimer = setTimeout(gone, lifeTimeMs);
      this.lifeTimer.unref();
    }
  }

  private disarmCached(): void {
    if (this.lifeTimer) clearTimeout(this.lifeTimer);
    this.lifeTimer = undefined;
    const w = this.cachedWatch;
    if (!w) return;
    this.socket.off('data', w);
    this.socket.off('close', w);
    this.socket.off('error', w);
    this.socket.pause();
    this.cachedWatch = undefined;
  }

  private terminate(): void {
    if (this.socket.destroyed) return;
    this.socket.on('error', () => {});
    this.socket.end(serialize.end());
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}
