// log_backend_messages (pgpool 4.6; docs/behaviour.md#logs): a line for each message a
// session's backends send (`verbose`), or for each change of message kind per backend
// with the count of the repeats it folded (`terse`). The relays call seen() with each
// message's type only while it is on.
import type { Logger } from '../../logging/logger.js';
import type { MessageTap } from '../../protocol/header-scanner.js';

/** pgpool's label of each backend message kind. */
const LABELS: Readonly<Record<number, string>> = Object.fromEntries(
  (
    [
      ['1', 'ParseComplete'],
      ['2', 'BindComplete'],
      ['3', 'CloseComplete'],
      ['A', 'NotificationResponse'],
      ['C', 'CommandComplete'],
      ['D', 'DataRow'],
      ['E', 'ErrorResponse'],
      ['G', 'CopyInResponse'],
      ['H', 'CopyOutResponse'],
      ['I', 'EmptyQueryResponse'],
      ['K', 'BackendKeyData'],
      ['N', 'NoticeResponse'],
      ['R', 'AuthenticationRequest'],
      ['S', 'ParameterStatus'],
      ['T', 'RowDescription'],
      ['V', 'FunctionCallResponse'],
      ['W', 'CopyBothResponse'],
      ['Z', 'ReadyForQuery'],
      ['n', 'NoData'],
      ['s', 'PortalSuspended'],
      ['t', 'ParameterDescription'],
      ['v', 'NegotiateProtocolVersion'],
      ['c', 'CopyDone'],
      ['d', 'CopyData'],
    ] as const
  ).map(([kind, label]) => [kind.charCodeAt(0), label]),
);

export type BackendMessagesMode = 'terse' | 'verbose';

export class BackendMessageLog {
  /** Per node: the kind of its last message (terse) and how often it came again since logged. */
  private readonly last = new Map<number, { kind: number; repeats: number }>();

  constructor(
    public log: Pick<Logger, 'info' | 'warn'>,
    public mode: BackendMessagesMode,
  ) {}

  /** A message of type `kind` came from `node`. */
  seen(node: number, kind: number): void {
    const label = LABELS[kind];
    if (label === undefined) {
      this.log.warn(
        `log_backend_messages: no label found for kind "${String.fromCharCode(kind)}" from backend_id: ${node}`,
      );
      return;
    }
    if (this.mode === 'verbose') {
      this.log.info(`${label} message from backend ${node}`);
      return;
    }
    let last = this.last.get(node);
    if (!last) this.last.set(node, (last = { kind: 0, repeats: 0 }));
    if (kind === last.kind) {
      last.repeats++;
      return;
    }
    // pgpool names the repeated kind by a label it may not have updated; this names the one repeated.
    if (last.repeats > 0)
      this.log.info(`last ${LABELS[last.kind]} message from backend ${node} repeated ${last.repeats} times`);
    this.log.info(`${label} message from backend ${node}`);
    last.kind = kind;
    last.repeats = 0;
  }
}

/** A one-node relay's tap on its backend's messages for the log: their types only. */
export function backendKinds(log: BackendMessageLog, node: number): MessageTap {
  return { start: (type) => log.seen(node, type), body: () => {}, end: () => {} };
}
