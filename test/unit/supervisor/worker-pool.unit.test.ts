// The workers' V8 flags.
import { describe, expect, it } from 'vitest';

describe('worker V8 flags', () => {
  it('add the pooling mode’s young generation unless a size of the DBA’s own is given', async () => {
    const { workerExecArgv } = await import('../../../src/supervisor/worker-pool.js');
    expect(workerExecArgv('session', ['--enable-source-maps'], '')).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=1',
    ]);
    expect(workerExecArgv('transaction', ['--enable-source-maps'], '')).toEqual([
      '--enable-source-maps',
      '--min-semi-space-size=16',
      '--max-semi-space-size=16',
    ]);
    // pgpool-ts's own default on the supervisor (the systemd unit's NODE_OPTIONS, npm start) is no choice.
    expect(workerExecArgv('transaction', ['--max-semi-space-size=1'], '')).toEqual([
      '--max-semi-space-size=1',
      '--min-semi-space-size=16',
      '--max-semi-space-size=16',
    ]);
    expect(workerExecArgv('transaction', [], '--max-semi-space-size=1')).toEqual([
      '--min-semi-space-size=16',
      '--max-semi-space-size=16',
    ]);
    expect(workerExecArgv('session', ['--max-semi-space-size=8'], '')).toEqual(['--max-semi-space-size=8']);
    expect(workerExecArgv('transaction', [], '--max-semi-space-size=4 --trace-gc')).toEqual([]);
    expect(workerExecArgv('transaction', [], '--trace-gc --min-semi-space-size=2')).toEqual([]);
  });
});
