// A node's state machine (docs/architecture.md#state-machines), pure: which status changes
// are transitions, and what a change does to the last status change time.
import type { NodeStatus, NodeView } from '../ipc/node-snapshot.js';

const NEXT: Readonly<Record<NodeStatus, readonly NodeStatus[]>> = {
  // A configured node waits until a child connects to it (pgpool's new_connection sets CON_UP).
  waiting: ['up', 'down'],
  up: ['down'],
  // Attached again (pcp_attach_node, failback): waiting until a child connects.
  down: ['waiting'],
  unused: ['waiting'],
};

export const mayTransition = (from: NodeStatus, to: NodeStatus): boolean => NEXT[from].includes(to);

/** The node after a status change at `now`, or undefined when that is no transition. */
export function nodeTransition(node: NodeView, to: NodeStatus, now: number): NodeView | undefined {
  if (!mayTransition(node.status, to)) return undefined;
  return { ...node, status: to, lastStatusChange: now };
}
