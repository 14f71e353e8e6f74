// The PCP server (docs/behaviour.md#pcp): md5 login against pcp.conf (read at each login,
// so edits need no reload) and the requests behind the pcp_* tools, on the connections of
// the listeners the supervisor opens; what children are doing comes from the workers
// through `deps.report`.
import crypto from 'node:crypto';
import type net from 'node:net';
import type { PcpUser } from '../config/pcp-conf.js';
import type { Logger } from '../logging/logger.js';
import {
  nodeInfoPacket,
  pcpAuthOk,
  pcpError,
  pcpPacket,
  pcpStrings,
  poolStatusHeader,
  processInfoPacket,
  readPcpRequest,
  type NodeInfo,
  type PcpClientVersion,
  type PcpRequest,
} from './pcp-protocol.js';
import { poolPoolsRows, withEmptySlots, type ChildReport } from './process-report.js';

export interface PcpDeps {
  readonly users: () => readonly PcpUser[];
  readonly nodes: () => readonly NodeInfo[];
  readonly report: () => Promise<ChildReport[]>;
  readonly maxPool: () => number;
  readonly numInitChildren: () => number;
  readonly poolStatus: () => readonly (readonly [string, string, string])[];
  /** node_id, then the 19 other SHOW pool_health_check_stats fields. */
  readonly healthCheckStats: (node: number) => readonly string[];
  readonly clientVersion: () => PcpClientVersion;
  readonly reload: () => void;
  /** pcp_attach_node / pcp_detach_node: pgpool's refusal text, or undefined when the request was taken. */
  readonly attachNode: (id: number) => string | undefined;
  readonly detachNode: (id: number, graceful: boolean) => Promise<string | undefined>;
  /** pcp_promote_node: pgpool's refusal (a FATAL ends the connection), or undefined. */
  readonly promoteNode: (
    id: number,
    switchover: boolean,
    graceful: boolean,
  ) => Promise<{ severity: 'ERROR' | 'FATAL'; message: string; detail?: string } | undefined>;
  readonly stop: (mode: 'smart' | 'fast' | 'immediate') => void;
  /** The supervisor's logger now (remade on reload). */
  readonly log: () => Logger;
}

const CONN_TIMEOUT_MS = 60_000;

class PcpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private salt: Buffer | undefined;
  private user: string | undefined;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: net.Socket,
    private readonly deps: PcpDeps,
  ) {
    socket.setTimeout(CONN_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private fatal(message: string, detail?: string): void {
    this.socket.end(pcpError('FATAL', message, detail));
    this.buf = Buffer.alloc(0);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.socket.writableEnded) return;
      const f = readPcpRequest(this.buf);
      if (f.kind === 'incomplete') {
        if (this.buf.length > 4096) this.fatal('invalid PCP packet', 'too much data');
        return;
      }
      if (f.kind === 'bad') return this.fatal('invalid PCP packet', `incorrect packet length (${f.length})`);
      this.buf = this.buf.subarray(f.length);
      const req = f.request;
      // Requests are answered in order, also when one needs the workers' reports.
      this.busy = this.busy
        .then(() => this.handle(req))
        .catch((e: Error) => {
          this.deps.log().error(`PCP request failed: ${e.message}`);
          this.socket.destroy();
        });
    }
  }

  private async handle(req: PcpRequest): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (req.type === 'X') {
      s.end();
      return;
    }
    if (this.user === undefined) return this.login(req);
    const d = this.deps;
    switch (req.type) {
      case 'L':
        s.write(pcpPacket('l', 'CommandComplete', String(d.nodes().length)));
        return;
      case 'N': {
        const ids = (await d.report()).map((c) => String(c.childId));
        s.write(pcpPacket('n', 'CommandComplete', String(ids.length), ...ids));
        return;
      }
      case 'I': {
        const arg = pcpStrings(req.payload)[0] ?? '';
        const nodes = d.nodes();
        const id = /^-?\d+$/.test(arg) ? Number(arg) : NaN;
        if (id !== -1 && !(id >= 0 && id < nodes.length)) {
          s.write(pcpError('ERROR', 'informing node info failed', `invalid node ID : ${arg}`));
          return;
        }
        const pick = id === -1 ? nodes : [nodes[id]];
        s.write(
          Buffer.concat([
            pcpPacket('i', 'ArraySize', String(pick.length)),
            ...pick.map((n) => nodeInfoPacket(n, d.clientVersion())),
            pcpPacket('i', 'CommandComplete'),
          ]),
        );
        return;
      }
      case 'P': {
        const arg = pcpStrings(req.payload)[0] ?? '';
        const all = await d.report();
        const id = /^\d+$/.test(arg) ? Number(arg) : NaN;
        // No process ID: every slot, those without a child too (pool_pid 0), as pgpool lists them.
        const children = id === 0 ? withEmptySlots(all, d.numInitChildren()) : all.filter((c) => c.childId === id);
        if (Number.isNaN(id) || children.length === 0) {
          s.write(pcpError('ERROR', 'informing process info failed', `invalid process ID : ${arg}`));
          return;
        }
        const rows = poolPoolsRows(children, d.maxPool());
        s.write(
          Buffer.concat([
            pcpPacket('p', 'ArraySize', String(rows.length)),
            ...rows.map((r) => processInfoPacket(r, d.clientVersion())),
            pcpPacket('p', 'CommandComplete'),
          ]),
        );
        return;
      }
      case 'B': {
        const items = d.poolStatus();
        s.write(
          Buffer.concat([
            poolStatusHeader(items.length),
            ...items.map(([n, v, desc]) => pcpPacket('b', 'ProcessConfig', n, v, desc)),
            pcpPacket('b', 'CommandComplete'),
          ]),
        );
        return;
      }
      case 'H': {
        const arg = pcpStrings(req.payload)[0] ?? '';
        const id = /^-?\d+$/.test(arg) ? Number(arg) : NaN;
        if (!(id >= 0 && id < d.nodes().length)) {
          s.write(pcpError('ERROR', 'informing health check stats info failed', `invalid node ID ${arg}`));
          return;
        }
        s.write(pcpPacket('h', 'CommandComplete', ...d.healthCheckStats(id)));
        return;
      }
      case 'C':
      case 'D':
      case 'd': {
        const arg = pcpStrings(req.payload)[0] ?? '';
        const id = /^-?\d+$/.test(arg) ? Number(arg) : -1;
        const refusal = req.type === 'C' ? d.attachNode(id) : await d.detachNode(id, req.type === 'd');
        s.write(refusal ? pcpError('ERROR', refusal) : pcpPacket(req.type === 'C' ? 'c' : 'd', 'CommandComplete'));
        return;
      }
      case 'J':
      case 'j': {
        // "N \0o": the id up to the space, the option byte after its NUL (s: switchover).
        const text = req.payload.toString('latin1');
        const idText = text.slice(0, Math.max(0, text.indexOf(' ')));
        const id = /^-?\d+$/.test(idText) ? Number(idText) : -1;
        const option = text[text.indexOf(' ') + 2] ?? 'n';
        const refusal = await d.promoteNode(id, option === 's', req.type === 'j');
        if (!refusal) s.write(pcpPacket('d', 'CommandComplete'));
        else if (refusal.severity === 'FATAL') this.fatal(refusal.message, refusal.detail);
        else s.write(pcpError('ERROR', refusal.message, refusal.detail));
        return;
      }
      case 'Z':
        s.write(pcpPacket('z', 'CommandComplete'));
        d.log().info({ user: this.user }, 'PCP: reload config request');
        d.reload();
        return;
      case 'T':
      case 't': {
        const mode = { s: 'smart', f: 'fast', i: 'immediate' }[String.fromCharCode(req.payload[0] ?? 0)] as
          'smart' | 'fast' | 'immediate' | undefined;
        if (!mode) {
          s.write(
            pcpError(
              'ERROR',
              'PCP: error while processing shutdown request',
              `invalid shutdown mode "${String.fromCharCode(req.payload[0] ?? 0x3f)}"`,
            ),
          );
          return;
        }
        s.end(pcpPacket('t', 'CommandComplete'));
        d.log().info({ user: this.user, mode }, 'PCP: stop request');
        d.stop(mode);
        return;
      }
      default:
        s.write(pcpError('ERROR', 'PCP processing request', `unknown PCP packet type "${req.type}"`));
    }
  }

  private login(req: PcpRequest): void {
    if (req.type === 'M') {
      this.salt = crypto.randomBytes(4);
      this.socket.write(pcpPacket('m', this.salt));
      return;
    }
    if (req.type !== 'R')
      return this.fatal('authentication failed for new PCP connection', 'connection not authorized');
    const [user = '', answer = ''] = pcpStrings(req.payload);
    if (!this.salt) return this.fatal('authentication failed', 'username and/or password does not match');
    const entry = this.deps.users().find((u) => u.user === user);
    if (!entry || !pcpAuthOk(entry.md5, user, this.salt, answer)) {
      this.deps.log().info({ user }, 'PCP: authentication failed');
      return this.fatal(`authentication failed for user "${user}"`, 'username and/or password does not match');
    }
    this.user = user;
    this.socket.write(pcpPacket('r', 'AuthenticationOK'));
  }
}

/** What handles each connection to the PCP port (the supervisor opens the listeners). */
export function pcpConnections(deps: PcpDeps): (socket: net.Socket) => void {
  return (socket) => new PcpConnection(socket, deps);
}
