// The relay's StreamState as its two scanners write it: what reports, the reset and the
// idle limit read (pending replies, executing, in a transaction), and the message tap.
import { describe, expect, it } from 'vitest';
import type { MessageTap } from '../../../src/protocol/header-scanner.js';
import { SCAN_CONTINUE } from '../../../src/protocol/header-scanner.js';
import { StreamState } from '../../../src/protocol/stream-state.js';
import { TxStatus } from '../../../src/protocol/tx-status.js';
import { cstr, msg, query, readyForQuery } from '../../helpers/socket-pair.js';

describe('StreamState', () => {
  it.each([
    ['nothing sent', [], [], { pending: 0, executing: false, inTransaction: false }],
    ['a query in flight', [query('select 1')], [], { pending: 1, executing: true, inTransaction: false }],
    ['answered', [query('select 1')], [readyForQuery('I')], { pending: 0, executing: false, inTransaction: false }],
    [
      'idle in a transaction',
      [query('begin')],
      [readyForQuery('T')],
      { pending: 0, executing: false, inTransaction: true },
    ],
    ['a failed transaction', [query('x')], [readyForQuery('E')], { pending: 0, executing: false, inTransaction: true }],
    [
      'pipelined',
      [msg('P', cstr('')), msg('S'), msg('S')],
      [readyForQuery('I')],
      { pending: 1, executing: true, inTransaction: false },
    ],
  ])('%s', (_name, fromClient, fromServer, want) => {
    const s = new StreamState();
    for (const b of fromClient) expect(s.client.scan(b)).toBe(SCAN_CONTINUE);
    for (const b of fromServer) s.server.scan(b);
    expect({ pending: s.pending, executing: s.executing, inTransaction: s.inTransaction }).toEqual(want);
  });

  it('counts a pooler command being answered as executing', () => {
    const s = new StreamState();
    s.answeringCommand = true;
    expect([s.pending, s.executing]).toEqual([0, true]);
  });

  it('tracks an unsynced extended-protocol batch and COPY FROM STDIN', () => {
    const s = new StreamState();
    s.client.scan(Buffer.concat([msg('P', cstr('')), msg('B', Buffer.alloc(6))]));
    expect(s.unsynced).toBe(true);
    s.client.scan(msg('S'));
    expect(s.unsynced).toBe(false);
    s.server.scan(msg('G', Buffer.alloc(3)));
    expect(s.inCopyIn).toBe(true);
    s.server.scan(readyForQuery('E'));
    expect([s.inCopyIn, s.txStatus]).toEqual([false, TxStatus.Failed]);
  });

  it('starts a tap at the next message boundary and shows it whole messages, and consumed ones', () => {
    const s = new StreamState();
    const seen: string[] = [];
    let body: Buffer[] = [];
    const tap: MessageTap = {
      start: (type) => ((body = []), seen.push(String.fromCharCode(type))),
      body: (c, from, to) => body.push(Buffer.from(c.subarray(from, to))),
      end: () => seen.push(Buffer.concat(body).toString('latin1')),
    };
    const first = query('one');
    s.client.scan(first.subarray(0, 3)); // mid-message: the tap waits for the boundary
    s.client.setTap(tap);
    s.client.scan(first.subarray(3));
    s.client.scan(query('two'));
    const terminate = msg('X');
    expect(s.client.scan(terminate)).toBe(0);
    s.client.consumed(terminate, 0, 5);
    expect(seen).toEqual(['Q', 'two\0', 'X', '']);
    expect(s.requests).toBe(2);
  });
});
