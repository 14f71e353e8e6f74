// The IPC channel's mechanics: one write per event-loop turn, answers matched to their
// requests (late ones dropped), and the config snapshot's Maps across JSON.
import { describe, expect, it } from 'vitest';
import { Outbox, Requests } from '../../../src/ipc/channel.js';
import { decodeConfig, encodeConfig } from '../../../src/ipc/wire.js';
import { loadConfigText } from '../../helpers/config.js';

/** An outbox that records what it sends. */
function recordingOutbox(lazyMs?: number) {
  const sent: unknown[] = [];
  const box = new Outbox<{ n: number } | { batch: unknown[] }>(
    (m) => sent.push(m),
    (messages) => ({ batch: messages }),
    lazyMs,
  );
  return { sent, box };
}

describe('Outbox', () => {
  it('sends one message alone, several of a turn as one batch, and flushes on demand', async () => {
    const { sent, box } = recordingOutbox();
    box.push({ n: 1 });
    await new Promise((r) => setImmediate(r));
    box.push({ n: 2 });
    box.push({ n: 3 });
    await new Promise((r) => setImmediate(r));
    box.push({ n: 4 });
    box.flushNow();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ n: 1 }, { batch: [{ n: 2 }, { n: 3 }] }, { n: 4 }]);
  });
});

describe('Outbox lazy messages', () => {
  it('keeps the latest per key, sends them within lazyMs, or first with the next message that cannot wait', async () => {
    const { sent, box } = recordingOutbox(20);
    box.pushLazy(1, { n: 1 });
    box.pushLazy(2, { n: 2 });
    box.pushLazy(1, { n: 11 }); // replaces n: 1
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]); // nothing in this turn
    await new Promise((r) => setTimeout(r, 40));
    expect(sent).toEqual([{ batch: [{ n: 2 }, { n: 11 }] }]);
    box.pushLazy(3, { n: 3 });
    box.push({ n: 4 }); // cannot wait: takes the lazy one along, before it
    await new Promise((r) => setImmediate(r));
    expect(sent[1]).toEqual({ batch: [{ n: 3 }, { n: 4 }] });
    box.pushLazy(5, { n: 5 });
    box.flushNow();
    expect(sent[2]).toEqual({ n: 5 });
    await new Promise((r) => setTimeout(r, 40));
    expect(sent).toHaveLength(3);
  });
});

describe('Outbox lazy messages sent now', () => {
  it('a lazy message that must not wait goes with this turn, its waiting version dropped', async () => {
    const { sent, box } = recordingOutbox(20);
    box.pushLazy(1, { n: 1 });
    box.pushLazy(2, { n: 2 });
    box.pushLazy(1, { n: 11 }, true);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ batch: [{ n: 2 }, { n: 11 }] }]);
    await new Promise((r) => setTimeout(r, 40));
    expect(sent).toHaveLength(1);
  });
});

describe('Requests', () => {
  it('collects one answer per peer asked, and resolves with what came by the timeout', async () => {
    const r = new Requests();
    let id = 0;
    const both = r.ask<string>((reqId) => ((id = reqId), 2), 1000);
    r.answer(id, 'a');
    r.answer(id, 'b');
    expect(await both).toEqual(['a', 'b']);
    const late = r.ask<string>((reqId) => ((id = reqId), 2), 30);
    r.answer(id, 'only');
    expect(await late).toEqual(['only']);
    r.answer(id, 'too late'); // dropped
    expect(await r.ask<string>(() => 0, 1000)).toEqual([]);
  });
});

describe('wire', () => {
  it('carries a config snapshot, indexed values included', () => {
    const cfg = loadConfigText("backend_hostname1 = 'b'\nbackend_port1 = 5433\nnum_init_children = 7\n");
    const back = decodeConfig(JSON.parse(JSON.stringify(encodeConfig(cfg))));
    expect(back).toEqual(cfg);
    expect(back.backend_port.nodes.get(1)).toBe(5433);
  });
});
