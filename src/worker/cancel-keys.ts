// The cancel keys this worker's sessions gave their clients, each mapped to the backend's
// own pid and key (docs/behaviour.md#cancel). A key is void once its session ends. Unknown
// keys are dropped silently, as PostgreSQL does.
import type { CancelTarget } from '../backend/cancel.js';

const mapKey = (pid: number, keyHex: string) => `${pid}:${keyHex}`;

export class CancelKeys {
  private readonly targets = new Map<string, CancelTarget>();

  /** Registers the key a client is given; returns the handle that voids it. */
  register(pid: number, key: Buffer, target: CancelTarget): string {
    const k = mapKey(pid, key.toString('hex'));
    this.targets.set(k, target);
    return k;
  }

  void(handle: string): void {
    this.targets.delete(handle);
  }

  find(pid: number, keyHex: string): CancelTarget | undefined {
    return this.targets.get(mapKey(pid, keyHex));
  }

  get size(): number {
    return this.targets.size;
  }
}
