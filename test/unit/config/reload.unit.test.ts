// The reload plan: what a reload applies, and what keeps its running value until a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredBackends } from '../../../src/config/conf-checks.js';
import { loadConfig, nodeValue } from '../../../src/config/conf-loader.js';
import { withBackends } from '../../../src/config/discovered-backends.js';
import { planReload } from '../../../src/config/reload.js';
import { LogOutput } from '../../../src/logging/log-output.js';
import { RunningConfig } from '../../../src/supervisor/lifecycle.js';

describe('reload plan', () => {
  it('applies reloadable changes and keeps start-only ones, naming them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(
      f,
      "num_init_children = 4\nclient_idle_limit = 0\nbackend_hostname0 = 'a'\nbackend_port0 = 5432\n",
    );
    const running = loadConfig(f).config;
    fs.writeFileSync(
      f,
      "num_init_children = 8\nclient_idle_limit = 5min\nbackend_hostname0 = 'b'\nbackend_port0 = 5432\nreset_query_list = 'DISCARD ALL'\n",
    );
    const plan = planReload(running, loadConfig(f));
    fs.rmSync(dir, { recursive: true });
    expect([...plan.changed].sort()).toEqual(['client_idle_limit', 'reset_query_list']);
    expect([...plan.needRestart].sort()).toEqual(['backend_hostname', 'num_init_children']);
    expect([
      plan.config.num_init_children,
      plan.config.client_idle_limit,
      plan.config.backend_hostname.nodes.get(0),
    ]).toEqual([4, 300, 'a']);
    expect(plan.config.reset_query_list).toEqual(['DISCARD ALL']);
  });

  it('adds a node in an unused slot, and keeps the address of a node in use', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(f, "backend_hostname0 = 'a'\nbackend_port0 = 5432\n");
    const running = loadConfig(f).config;
    fs.writeFileSync(
      f,
      "backend_hostname0 = 'a'\nbackend_port0 = 5433\nbackend_hostname1 = 'b'\nbackend_port1 = 5434\n",
    );
    const plan = planReload(running, loadConfig(f));
    fs.rmSync(dir, { recursive: true });
    expect([...plan.changed].sort()).toEqual(['backend_hostname', 'backend_port']);
    expect(plan.needRestart).toEqual(['backend_port']);
    expect([...plan.config.backend_port.nodes]).toEqual([
      [0, 5432],
      [1, 5434],
    ]);
    expect(plan.config.backend_hostname.nodes.get(1)).toBe('b');
  });
});

describe('backends Patroni alone names', () => {
  it('take free slots in the running configuration and stay there across a reload', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-'));
    const f = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(f, "backend_hostname0 = 'a'\nbackend_port0 = 5432\nlog_destination = 'stderr'\n");
    const running = new RunningConfig(loadConfig(f), { output: new LogOutput(), debug: false });
    running.addBackends([{ id: 1, host: '10.0.0.9', port: 6432 }]);
    const at = (id: number) =>
      `${nodeValue(running.cfg.backend_hostname, id)}:${running.cfg.backend_port.nodes.get(id)}`;
    expect(configuredBackends(running.cfg)).toEqual([0, 1]);
    expect(at(1)).toBe('10.0.0.9:6432');
    // A reload of the unchanged file neither drops the slot nor asks for a restart.
    const plan = running.reload()!;
    expect([plan.changed, plan.needRestart]).toEqual([[], []]);
    expect(at(1)).toBe('10.0.0.9:6432');
    // A file naming that slot itself wins it back (a slot in use: after a restart).
    fs.appendFileSync(f, "backend_hostname1 = 'b'\nbackend_port1 = 5433\n");
    expect([...running.reload()!.needRestart].sort()).toEqual(['backend_hostname', 'backend_port']);
    fs.rmSync(dir, { recursive: true });
  });

  it('leave slots the configuration names alone', () => {
    const cfg = loadConfig('/dev/null').config;
    const one = withBackends(cfg, [{ id: 0, host: 'x', port: 1 }]);
    expect(one.backend_port.nodes.get(0)).toBe(1);
    expect(withBackends(one, [{ id: 0, host: 'y', port: 2 }])).toBe(one);
  });
});
