// /metrics in Prometheus text format 0.0.4, with pgpool2_exporter's frontend names and
// the pooler's own gauges, read from the live state.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';

afterAll(stopAllPoolers);

function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('/metrics', () => {
  it('shows children in use, waiting clients and rejections', async () => {
    const port = await freePort();
    const p = await startPooler({ num_init_children: 2, worker_processes: 1, metrics_port: port, metrics_listen_addresses: '127.0.0.1' });
    const held = [new pg.Client(p.client()), new pg.Client(p.client())];
    for (const c of held) await c.connect();
    const waiting = new pg.Client(p.client());
    const waitingDone = waiting.connect();
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parse(await res.text());
    expect(m.get('pgpool2_frontend_total')).toBe(2);
    expect(m.get('pgpool2_frontend_used')).toBe(2);
    expect(m.get('pgpool2_frontend_used_ratio')).toBe(1);
    expect(m.get('pgpool_ts_clients_waiting')).toBe(1);
    expect(m.get('pgpool_ts_children{state="busy"}')).toBe(2);
    expect(m.get('pgpool_ts_rejections_total{reason="reserved_connections"}')).toBe(0);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    await held[0].end();
    await waitingDone;
    await Promise.all([held[1].end(), waiting.end()]);
    await p.stop();
  });
});
