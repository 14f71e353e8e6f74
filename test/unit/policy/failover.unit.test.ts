// Failover decisions (docs/behaviour.md#failover): pgpool's refusals of detach and attach
// requests, which sessions a detach ends, and the placeholders of failover_command.
import { describe, expect, it } from 'vitest';
import {
  backendLoss,
  attachIgnored,
  attachRefusal,
  detachRefusal,
  expandCommand,
  restartScope,
  type CommandContext,
} from '../../../src/policy/failover.js';

describe('detachRefusal', () => {
  it.each<[string, Parameters<typeof detachRefusal>[0], string | undefined]>([
    ['an up node', { id: 1, status: 'up', disallowFailover: false }, undefined],
    ['a waiting node', { id: 1, status: 'waiting', disallowFailover: false }, undefined],
    [
      'a down node',
      { id: 1, status: 'down', disallowFailover: false },
      'invalid degenerate backend request, node id : 1 status: [3] is not valid for failover',
    ],
    [
      'a node not configured',
      { id: 5, status: undefined, disallowFailover: false },
      'invalid degenerate backend request, node id : 5 status: [0] is not valid for failover',
    ],
    [
      'out of range',
      { id: 200, status: undefined, disallowFailover: false },
      'invalid degenerate backend request, node id: 200 is out of range. node id must be between [0 and 128]',
    ],
    [
      'DISALLOW_TO_FAILOVER',
      { id: 0, status: 'up', disallowFailover: true },
      'degenerate backend request for node_id: 0 from pid [42] is canceled because failover is disallowed on the node',
    ],
  ])('%s', (_name, node, expected) => {
    expect(detachRefusal(node, 42)).toBe(expected);
  });

  it('keeps the last alive node when the request is automatic', () => {
    expect(detachRefusal({ id: 0, status: 'up', disallowFailover: false }, 42, true)).toBe(
      'degenerate backend request for node_id: 0 from pid [42] is canceled because it is the last node alive',
    );
  });
});

describe('attach', () => {
  it('refuses out of range, and an alive node in raw mode; streaming replication takes it and ignores it', () => {
    expect(attachRefusal({ id: -1, status: undefined, disallowFailover: false }, false)).toBe(
      'invalid failback request, node id: -1 is out of range. node id must be between [0 and 128]',
    );
    const up = { id: 1, status: 'up', disallowFailover: false } as const;
    expect(attachRefusal(up, true)).toBe('invalid failback request, node id : 1 status: [2] not valid for failback');
    expect(attachRefusal(up, false)).toBeUndefined();
    expect(attachIgnored(up)).toBe('invalid failback request, status: [2] of node id : 1 is invalid for failback');
    expect(attachIgnored({ ...up, status: 'down' })).toBeUndefined();
  });
});

describe('restartScope', () => {
  it.each<[string, Parameters<typeof restartScope>[0], string]>([
    ['a standby fails', { withPrimary: true, failed: 0, primaryBefore: 1, timedOut: false }, 'node'],
    ['the primary fails', { withPrimary: true, failed: 1, primaryBefore: 1, timedOut: false }, 'all'],
    ['a standby times out', { withPrimary: true, failed: 0, primaryBefore: 1, timedOut: true }, 'all'],
    ['raw mode', { withPrimary: false, failed: 1, primaryBefore: undefined, timedOut: false }, 'all'],
  ])('%s → %s', (_name, input, expected) => {
    expect(restartScope(input)).toBe(expected);
  });
});

describe('expandCommand', () => {
  const node = (id: number, port: number) => ({ id, host: `h${id}`, port, dataDirectory: `/d${id}` });
  const ctx: CommandContext = { node: node(1, 5433), target: node(0, 5432), oldMain: 0, oldPrimary: node(1, 5433) };

  it('fills every placeholder as pgpool does (the observed primary failover line)', () => {
    expect(expandCommand('f.sh %d %h %p %D %m %H %M %P %r %R %N %S', ctx)).toBe(
      'f.sh 1 h1 5433 /d1 0 h0 0 1 5432 /d0 h1 5433',
    );
  });

  it('gives -1 and "" for a node that does not exist, a percent for %%, nothing for an unknown %x', () => {
    const none: CommandContext = { ...ctx, target: undefined, oldMain: -1, oldPrimary: undefined };
    expect(expandCommand('%m %H %r %R %M %P %N %S', none)).toBe('-1 "" "" "" -1 -1 "" ""');
    expect(expandCommand('100%% %x%d%', ctx)).toBe('100% 1');
  });
});

describe('backendLoss (a connection ending under a session)', () => {
  it.each<[string, boolean, boolean, boolean, boolean, ReturnType<typeof backendLoss>]>([
    ['EOF: told, no detach', false, false, true, true, { detach: false, tell: 'BACKEND_EOF' }],
    ['EOF after PostgreSQL’s FATAL: nothing more', false, true, true, true, { detach: false, tell: undefined }],
    [
      'a reset, failover_on_backend_error on: detach, closed',
      true,
      false,
      true,
      true,
      { detach: true, tell: undefined },
    ],
    [
      'a reset, failover_on_backend_error off: told',
      true,
      false,
      false,
      true,
      { detach: false, tell: 'BACKEND_READ_NO_FAILOVER' },
    ],
    ['a reset after PostgreSQL’s FATAL: its closing', true, true, true, true, { detach: false, tell: undefined }],
    ['a reset on a node that may not be detached', true, false, true, false, { detach: false, tell: undefined }],
  ])('%s', (_name, socketError, saidWhy, failoverOnBackendError, mayDetach, expected) => {
    expect(backendLoss({ socketError, saidWhy, failoverOnBackendError, mayDetach })).toEqual(expected);
  });

  it('a message PostgreSQL should not have sent drops the connection, told as no EOF and detaching nothing', () => {
    const garbled = {
      socketError: false,
      garbled: true,
      saidWhy: false,
      failoverOnBackendError: true,
      mayDetach: true,
    };
    expect(backendLoss(garbled)).toEqual({ detach: false, tell: undefined });
  });
});
