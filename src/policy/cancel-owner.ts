// A cancel key names the worker that issued it (docs/behaviour.md#cancel): its first two
// bytes modulo worker_processes are the worker's index, so whichever process reads a
// CancelRequest sends it to that worker at once, without asking the others. The rest of
// the key stays random; the index costs log2(worker_processes) bits of it.

/** The worker that issued `key` (a buffer or its hex form). */
export function workerOfCancelKey(key: Uint8Array | string, workerCount: number): number {
  const first = typeof key === 'string' ? parseInt(key.slice(0, 4), 16) : ((key[0] << 8) | key[1]) >>> 0;
  return Number.isNaN(first) || workerCount < 1 ? 0 : first % workerCount;
}

/** The first two bytes (as one number) of a key that names `worker`, made from random ones. */
export function keyPrefixNaming(randomPrefix: number, worker: number, workerCount: number): number {
  const named = randomPrefix - (randomPrefix % workerCount) + worker;
  return named > 0xffff ? named - workerCount : named;
}
