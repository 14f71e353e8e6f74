// A client a full worker handed back in transaction mode: placed on the worker with the
// most room by the reported counts, or, with none, kept until the counts of its arrival's
// moment are in (150 ms), then placed or refused with 53300. Simulated time.
import type net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/logging/logger.js';
import { TxClientCounts } from '../../../src/supervisor/tx-clients.js';

const log = { debug: () => {}, info: () => {} } as unknown as Logger;

/** A client socket that records what it was told. */
function clientSocket() {
  const told: Buffer[] = [];
  const socket = { on: () => socket, end: (b: Buffer) => told.push(b) } as unknown as net.Socket;
  return { socket, told };
}

describe('TxClientCounts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('places on the worker with the most room at once, counting it there', () => {
    const counts = new TxClientCounts(
      2,
      () => 6,
      () => log,
    );
    counts.reported(0, 3);
    counts.reported(1, 1);
    const placed: number[] = [];
    for (let i = 0; i < 3; i++) counts.place(clientSocket().socket, (w) => placed.push(w));
    // Shares 3 and 3: worker 1 has room for two, then none has any.
    expect(placed).toEqual([1, 1]);
  });

  it('keeps a client no worker has room for until a report shows room, first come first placed', () => {
    const counts = new TxClientCounts(
      2,
      () => 4,
      () => log,
    );
    counts.reported(0, 2);
    counts.reported(1, 2);
    const placed: string[] = [];
    const a = clientSocket();
    const b = clientSocket();
    counts.place(a.socket, (w) => placed.push(`a→${w}`));
    counts.place(b.socket, (w) => placed.push(`b→${w}`));
    vi.advanceTimersByTime(100);
    expect(placed).toEqual([]);
    counts.reported(1, 1); // one left worker 1
    expect(placed).toEqual(['a→1']);
    vi.advanceTimersByTime(60);
    // b's time is up with every worker full: refused with 53300, told why.
    expect(placed).toEqual(['a→1']);
    expect(b.told).toHaveLength(1);
    const text = b.told[0].toString('latin1');
    expect(text).toContain('53300');
    expect(text).toContain('Sorry, too many clients already');
    expect(text).toContain('4 clients are connected, as many as max_client_conn allows');
    expect(a.told).toEqual([]);
  });
});
