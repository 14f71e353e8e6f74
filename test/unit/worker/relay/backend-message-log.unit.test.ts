// log_backend_messages: pgpool's lines for the messages a session's backends send.
import { describe, expect, it } from 'vitest';
import { BackendMessageLog, type BackendMessagesMode } from '../../../../src/worker/relay/backend-message-log.js';
import type { Logger } from '../../../../src/logging/logger.js';

function logged(mode: BackendMessagesMode, messages: [number, string][]): string[] {
  const lines: string[] = [];
  const log = {
    info: (m: string) => lines.push(`LOG ${m}`),
    warn: (m: string) => lines.push(`WARNING ${m}`),
  } as unknown as Pick<Logger, 'info' | 'warn'>;
  const l = new BackendMessageLog(log, mode);
  for (const [node, kind] of messages) l.seen(node, kind.charCodeAt(0));
  return lines;
}

describe('log_backend_messages', () => {
  const select: [number, string][] = [
    [0, 'T'],
    [0, 'D'],
    [0, 'D'],
    [0, 'D'],
    [0, 'C'],
    [0, 'Z'],
  ];

  it.each<[string, BackendMessagesMode, [number, string][], string[]]>([
    [
      'verbose: every message',
      'verbose',
      select,
      [
        'LOG RowDescription message from backend 0',
        'LOG DataRow message from backend 0',
        'LOG DataRow message from backend 0',
        'LOG DataRow message from backend 0',
        'LOG CommandComplete message from backend 0',
        'LOG ReadyForQuery message from backend 0',
      ],
    ],
    [
      'terse: a repeated kind folded into one count when the kind changes',
      'terse',
      select,
      [
        'LOG RowDescription message from backend 0',
        'LOG DataRow message from backend 0',
        'LOG last DataRow message from backend 0 repeated 2 times',
        'LOG CommandComplete message from backend 0',
        'LOG ReadyForQuery message from backend 0',
      ],
    ],
    [
      'terse: each node keeps its own last kind',
      'terse',
      [
        [1, 'Z'],
        [0, 'Z'],
        [1, 'Z'],
        [0, 'C'],
        [1, 'C'],
      ],
      [
        'LOG ReadyForQuery message from backend 1',
        'LOG ReadyForQuery message from backend 0',
        'LOG CommandComplete message from backend 0',
        'LOG last ReadyForQuery message from backend 1 repeated 1 times',
        'LOG CommandComplete message from backend 1',
      ],
    ],
    [
      'terse: the count names the kind that repeated, right after another count',
      'terse',
      [
        [0, 'D'],
        [0, 'D'],
        [0, 'C'],
        [0, 'C'],
        [0, 'Z'],
      ],
      [
        'LOG DataRow message from backend 0',
        'LOG last DataRow message from backend 0 repeated 1 times',
        'LOG CommandComplete message from backend 0',
        'LOG last CommandComplete message from backend 0 repeated 1 times',
        'LOG ReadyForQuery message from backend 0',
      ],
    ],
    [
      'an unknown kind: a warning, nothing counted',
      'terse',
      [
        [0, 'Z'],
        [0, '?'],
        [0, 'Z'],
      ],
      [
        'LOG ReadyForQuery message from backend 0',
        'WARNING log_backend_messages: no label found for kind "?" from backend_id: 0',
      ],
    ],
  ])('%s', (_name, mode, messages, lines) => {
    expect(logged(mode, messages)).toEqual(lines);
  });
});
