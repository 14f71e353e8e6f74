// Statement and message logging fed by the client scanner's tap.
import { describe, expect, it } from 'vitest';
import { ClientMessageLog, clientGets } from '../../../../src/worker/relay/client-message-log.js';
import { SCAN_CONTINUE, tapWhole } from '../../../../src/protocol/header-scanner.js';
import { StreamState } from '../../../../src/protocol/stream-state.js';
import type { Logger } from '../../../../src/logging/logger.js';

describe('client message framing for the logs', () => {
  function capture(): { log: Logger; lines: string[] } {
    const lines: string[] = [];
    const log = {
      info: (a: unknown, b?: string) =>
        lines.push(typeof a === 'string' ? a : `${b} ${(a as { detail?: string }).detail ?? ''}`.trim()),
    } as unknown as Logger;
    return { log, lines };
  }
  const msg = (type: string, body: Buffer) => {
    const b = Buffer.alloc(5 + body.length);
    b.write(type, 0, 'latin1');
    b.writeInt32BE(4 + body.length, 1);
    body.copy(b, 5);
    return b;
  };
  const cstr = (s: string) => Buffer.from(s + '\0');

  it('frames messages split anywhere across chunks and logs them as pgpool does', () => {
    const { log, lines } = capture();
    const m = new ClientMessageLog(
      log,
      { statement: true, perNodeStatement: true, perNodeNotice: false, clientLog: false, clientMessages: true },
      { node: 0, pid: 4242 },
      () => expect.unreachable('no notice while notice_per_node_statement is off'),
    );
    const stream = Buffer.concat([
      msg('Q', cstr('SELECT 1')),
      msg('P', Buffer.concat([cstr('s1'), cstr('SELECT $1'), Buffer.from([0, 0])])),
      msg('B', Buffer.concat([cstr(''), cstr('s1'), Buffer.alloc(6)])),
      msg('E', Buffer.concat([cstr(''), Buffer.alloc(4)])),
      msg('S', Buffer.alloc(0)),
      msg('d', Buffer.from('row1')),
      msg('d', Buffer.from('row2')),
      msg('c', Buffer.alloc(0)),
      msg('X', Buffer.alloc(0)),
    ]);
    // The relay's client scanner frames the stream and shows it to the log; the relay
    // consumes the Terminate itself (it never reaches a cached connection) and shows it too.
    const state = new StreamState();
    state.client.setTap(m);
    const terminate = msg('X', Buffer.alloc(0));
    const relayed = stream.subarray(0, stream.length - terminate.length);
    for (let i = 0; i < relayed.length; i += 3)
      expect(state.client.scan(relayed.subarray(i, i + 3))).toBe(SCAN_CONTINUE);
    expect(state.client.scan(terminate)).toBe(0);
    state.client.consumed(terminate, 0, terminate.length);
    expect(lines).toEqual([
      'Query message from frontend. query: "SELECT 1"',
      'statement: SELECT 1',
      'DB node id: 0 backend pid: 4242 statement: SELECT 1',
      'Parse message from frontend. statement: "s1", query: "SELECT $1"',
      'DB node id: 0 backend pid: 4242 statement: Parse: SELECT $1',
      'Bind message from frontend. portal: "", statement: "s1"',
      'DB node id: 0 backend pid: 4242 statement: B message',
      'Execute message from frontend. portal: ""',
      'statement: SELECT $1',
      'DB node id: 0 backend pid: 4242 statement: Execute: SELECT $1',
      'Sync message from frontend.',
      'DB node id: 0 backend pid: 4242 statement: S message',
      'CopyData message from frontend. count: 2',
      'CopyDone message from frontend.',
      'Terminate message from frontend.',
    ]);
  });

  /** The M field of a NoticeResponse the log wrote, after checking its type and S and C fields. */
  function noticeText(b: Buffer): string {
    expect(String.fromCharCode(b[0])).toBe('N');
    const fields = b
      .subarray(5, b.length - 1)
      .toString('utf8')
      .split('\0')
      .filter(Boolean);
    expect(fields.slice(0, 2)).toEqual(['SNOTICE', 'CXX000']);
    return fields[2].slice(1);
  }

  it('notice_per_node_statement: a NOTICE per per-node line; shown again for another node, only those; none for what the pooler answers', () => {
    const { log, lines } = capture();
    const notices: string[] = [];
    const target = { node: 1, pid: 7 };
    const m = new ClientMessageLog(
      log,
      { statement: true, perNodeStatement: true, perNodeNotice: true, clientLog: false, clientMessages: true },
      target,
      (b) => notices.push(noticeText(b)),
    );
    const begin = msg('Q', cstr('BEGIN'));
    tapWhole(m, begin);
    Object.assign(target, { node: 0, pid: 9 });
    m.shownAs = 'again';
    tapWhole(m, begin);
    // The pooler's own commands go to no node: logged as the client sent them, no per-node line.
    m.shownAs = 'answered';
    tapWhole(m, msg('Q', cstr('SHOW pool_nodes')));
    m.shownAs = 'sent';
    expect(notices).toEqual(['DB node id: 1 statement: BEGIN', 'DB node id: 0 statement: BEGIN']);
    expect(lines).toEqual([
      'Query message from frontend. query: "BEGIN"',
      'statement: BEGIN',
      'DB node id: 1 backend pid: 7 statement: BEGIN',
      'DB node id: 0 backend pid: 9 statement: BEGIN',
      'Query message from frontend. query: "SHOW pool_nodes"',
      'statement: SHOW pool_nodes',
    ]);
  });

  it.each([
    ['debug5', true, true],
    ['debug', true, true],
    ['debug1', true, true],
    ['log', true, true],
    ['info', true, false],
    ['notice', true, false],
    ['NOTICE', true, false],
    ['warning', false, false],
    ['error', false, false],
    ['fatal', false, false],
    ['panic', false, false],
  ])('client_min_messages = %s lets a NOTICE through: %s, a LOG: %s', (level, notice, log) => {
    expect(clientGets('notice', level)).toBe(notice);
    expect(clientGets('log', level)).toBe(log);
  });

  it('client_min_messages = log: the client gets the LOG lines too, with their DETAIL, but not after its Terminate', () => {
    const { log, lines } = capture();
    const sent: string[] = [];
    const m = new ClientMessageLog(
      log,
      { statement: true, perNodeStatement: false, perNodeNotice: false, clientLog: true, clientMessages: true },
      { node: 0, pid: 7 },
      (b) => {
        const fields = b
          .subarray(5, b.length - 1)
          .toString('utf8')
          .split('\0')
          .filter(Boolean);
        sent.push(fields.join('|'));
      },
    );
    tapWhole(m, msg('Q', cstr('SELECT 1')));
    tapWhole(m, msg('X', Buffer.alloc(0)));
    expect(sent).toEqual([
      'SLOG|CXX000|MQuery message from frontend.|Dquery: "SELECT 1"',
      'SLOG|CXX000|Mstatement: SELECT 1',
    ]);
    expect(lines).toEqual([
      'Query message from frontend. query: "SELECT 1"',
      'statement: SELECT 1',
      'Terminate message from frontend.',
    ]);
  });
});
