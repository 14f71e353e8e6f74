// The reload plan: what a reload applies, and what keeps its running value until a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/conf-loader.js';
import { planReload } from '../../../src/config/reload.js';

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
