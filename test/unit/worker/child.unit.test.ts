// A child's state machine and pgpool's status strings derived from it (and from its
// session's phase and stream), table-driven; child_life_time with simulated time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigText } from '../../helpers/config.js';
import type { ChildStateReport } from '../../../src/ipc/messages.js';
import { StreamState } from '../../../src/protocol/stream-state.js';
import { TxStatus } from '../../../src/protocol/tx-status.js';
import { Child, pgpoolStatus, type ChildState } from '../../../src/worker/child.js';
import type { Session, SessionPhase } from '../../../src/worker/session/session.js';

afterEach(() => {
  vi.useRealTimers();
});

function busy(phase: SessionPhase, stream?: Partial<StreamState>): ChildState {
  const s = stream ? Object.assign(new StreamState(), stream) : undefined;
  return { kind: 'busy', connId: 1, session: { phase, relay: s && { stream: s } } as unknown as Session };
}

describe('pgpoolStatus', () => {
  it.each<[string, ChildState, string]>([
    ['idle', { kind: 'idle', since: 0 }, 'Wait for connection'],
    ['reading the startup packet', busy('startup'), 'Connecting'],
    ['authenticating', busy('authenticating'), 'Connecting'],
    ['getting its backend connection', busy('connecting'), 'Connecting'],
    ['waiting for its client', busy('active', {}), 'Idle'],
    ['running a query', busy('active', { requests: 3, replies: 2 }), 'Execute command'],
    ['answering SHOW pool_processes', busy('active', { answeringCommand: true }), 'Execute command'],
    ['in a transaction', busy('active', { txStatus: TxStatus.InTransaction }), 'Idle in transaction'],
    ['in a failed transaction', busy('active', { txStatus: TxStatus.Failed }), 'Idle in transaction'],
    ['resetting after its client left', busy('releasing', {}), 'Idle'],
  ])('%s: %s', (_name, state, status) => {
    expect(pgpoolStatus(state)).toBe(status);
  });
});

describe('Child', () => {
  const cfg = loadConfigText('child_life_time = 5\nnum_init_children = 1\n');

  function child() {
    const reports: ChildStateReport[] = [];
    const expired: number[] = [];
    const c = new Child(7, () => cfg, {
      changed: (_c, r) => reports.push(r),
      lifeTimeOver: (x) => expired.push(x.id),
    });
    return { c, reports, expired };
  }

  it('reports every transition and remembers when its last client left', () => {
    const { c, reports } = child();
    c.transition(busy('startup'));
    c.sessions++;
    c.transition({ kind: 'idle', since: 1234 });
    c.transition({ kind: 'exited', reason: 'retired' });
    c.transition({ kind: 'idle', since: 1 }); // exited is final
    expect(reports).toEqual([
      { kind: 'busy', connId: 1 },
      { kind: 'idle', pooled: 0 },
      { kind: 'exited', reason: 'retired' },
    ]);
    expect(c.lastDisconnect).toBe(1234);
  });

  it('refuses a second client while busy', () => {
    const { c } = child();
    c.transition(busy('startup'));
    expect(() => c.transition(busy('startup'))).toThrow(/busy while busy/);
  });

  it('arms child_life_time + 1 s when idle after a session, and disarms it on a new client', () => {
    vi.useFakeTimers();
    const { c, expired } = child();
    c.transition(busy('startup'));
    c.sessions++;
    c.transition({ kind: 'idle', since: Date.now() });
    vi.advanceTimersByTime(5_999);
    c.transition(busy('startup'));
    vi.advanceTimersByTime(60_000);
    expect(expired).toEqual([]);
    c.transition({ kind: 'idle', since: Date.now() });
    vi.advanceTimersByTime(6_000);
    expect(expired).toEqual([7]);
  });
});
