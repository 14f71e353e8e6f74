// The workers' V8 flags.
import { describe, expect, it } from 'vitest';

describe('worker V8 flags', () => {
  it('add a 1 MB young generation unless a size is already given', async () => {
    const { workerExecArgv } = await import('../../../src/supervisor/worker-pool.js');
    expect(workerExecArgv(['--enable-source-maps'], '')).toEqual(['--enable-source-maps', '--max-semi-space-size=1']);
    expect(workerExecArgv(['--max-semi-space-size=8'], '')).toEqual(['--max-semi-space-size=8']);
    expect(workerExecArgv([], '--max-semi-space-size=4 --trace-gc')).toEqual([]);
  });
});
