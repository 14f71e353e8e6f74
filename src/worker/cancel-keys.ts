// The cancel keys this worker's sessions gave their clients, each mapped to the backend's
// own pid and key (docs/behaviour.md#cancel). Every key names this worker
// (policy/cancel-owner.ts). A key is void once its session ends. Unknown keys are dropped
// silently, as PostgreSQL does.
import { randomCancelKey, type CancelTarget } from '../backend/cancel.js';
import { keyPrefixNaming, workerOfCancelKey } from '../policy/cancel-owner.js';

const mapKey = (pid: number, keyHex: string) => `${pid}:${keyHex}`;

export class CancelKeys {
  private readonly targets = new Map<string, readonly CancelTarget[]>();
  private worker = 0;
  private workerCount = 1;

  /** This worker's index among worker_processes (init). */
  owner(worker: number, workerCount: number): void {
    this.worker = worker;
    this.workerCount = Math.max(1, workerCount);
  }

  /** A fresh key of `length` bytes for a client, registered; `handle` voids it. A routed session cancels on each of its backends. */
  issue(pid: number, length: number, targets: readonly CancelTarget[]): { key: Buffer; handle: string } {
    const key = randomCancelKey(length);
    key.writeUInt16BE(keyPrefixNaming(key.readUInt16BE(0), this.worker, this.workerCount), 0);
    const handle = mapKey(pid, key.toString('hex'));
    this.targets.set(handle, targets);
    return { key, handle };
  }

  void(handle: string): void {
    this.targets.delete(handle);
  }

  /** The worker that issued a key (this one or another). */
  ownerOf(keyHex: string): number {
    return workerOfCancelKey(keyHex, this.workerCount);
  }

  find(pid: number, keyHex: string): readonly CancelTarget[] | undefined {
    return this.targets.get(mapKey(pid, keyHex));
  }

  get size(): number {
    return this.targets.size;
  }
}
