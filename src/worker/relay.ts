// The hot path: bytes between a client and its backend connection, forwarded in the
// chunks they arrive in. Only message headers are read (header-scanner.ts); each socket
// is paused while the other cannot take more, so memory stays bounded both ways.
import type net from 'node:net';
import { BackendScanner, FrontendScanner, SCAN_CONTINUE } from '../protocol/header-scanner.js';

export type RelayEnd =
  | { kind: 'terminate' } // the client sent Terminate
  | { kind: 'client-gone' } // the client's socket closed without Terminate
  | { kind: 'backend-gone' } // PostgreSQL closed the connection
  | { kind: 'protocol-error'; message: string }
  | { kind: 'stopped'; reason: string }; // the pooler ended it (shutdown, idle limit)

export class Relay {
  readonly fe = new FrontendScanner();
  readonly be = new BackendScanner();
  /** Time of the client's last data, for client_idle_limit (ms). */
  lastClientData = Date.now();
  private ended = false;

  private readonly onClientData = (chunk: Buffer) => {
    this.lastClientData = Date.now();
    let stop: number;
    try {
      stop = this.fe.scan(chunk);
    } catch (e) {
      return this.finish({ kind: 'protocol-error', message: (e as Error).message });
    }
    if (stop === SCAN_CONTINUE) {
      if (!this.backend.write(chunk)) this.client.pause();
      return;
    }
    if (stop > 0) this.backend.write(chunk.subarray(0, stop));
    this.finish({ kind: 'terminate' });
  };
  private readonly onBackendData = (chunk: Buffer) => {
    try {
      this.be.scan(chunk);
    } catch (e) {
      return this.finish({ kind: 'protocol-error', message: `from backend: ${(e as Error).message}` });
    }
    if (!this.client.write(chunk)) this.backend.pause();
  };
  private readonly onClientDrain = () => this.backend.resume();
  private readonly onBackendDrain = () => this.client.resume();
  private readonly onClientGone = () => this.finish({ kind: 'client-gone' });
  private readonly onBackendGone = () => this.finish({ kind: 'backend-gone' });

  constructor(
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly onEnd: (end: RelayEnd, relay: Relay) => void,
  ) {}

  start(pendingFromBackend: Buffer, pendingFromClient: Buffer): void {
    this.client.on('data', this.onClientData);
    this.client.on('drain', this.onClientDrain);
    this.client.on('end', this.onClientGone);
    this.client.on('close', this.onClientGone);
    this.client.on('error', this.onClientGone);
    this.backend.on('data', this.onBackendData);
    this.backend.on('drain', this.onBackendDrain);
    this.backend.on('close', this.onBackendGone);
    this.backend.on('error', this.onBackendGone);
    if (pendingFromBackend.length > 0) this.onBackendData(pendingFromBackend);
    if (pendingFromClient.length > 0 && !this.ended) this.onClientData(pendingFromClient);
    if (this.backend.destroyed) return this.finish({ kind: 'backend-gone' });
    if (this.client.destroyed) return this.finish({ kind: 'client-gone' });
    this.client.resume();
    this.backend.resume();
  }

  /** Ends relaying from outside (shutdown, client_idle_limit). */
  stop(reason: string): void {
    this.finish({ kind: 'stopped', reason });
  }

  private finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.client.off('data', this.onClientData);
    this.client.off('drain', this.onClientDrain);
    this.client.off('end', this.onClientGone);
    this.client.off('close', this.onClientGone);
    this.client.off('error', this.onClientGone);
    this.backend.off('data', this.onBackendData);
    this.backend.off('drain', this.onBackendDrain);
    this.backend.off('close', this.onBackendGone);
    this.backend.off('error', this.onBackendGone);
    // Paused until the next reader (reset, cache watch) attaches, so no byte is lost.
    this.backend.pause();
    this.onEnd(end, this);
  }
}
