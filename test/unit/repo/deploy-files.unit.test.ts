// Docker does not run on these machines, so the compose file is checked for what it
// says: its services, ports, volumes and mounted configuration agree with conf/.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/conf-loader.js';
import { nodeValue } from '../../../src/config/conf-loader.js';
import { repoRoot } from '../../helpers/shared.js';

const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'));
const dockerfile = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  it('has PostgreSQL, pgpool-ts built from the Dockerfile, Prometheus and Grafana, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'pgpool-ts', 'postgres', 'prometheus']);
    expect(compose.services['pgpool-ts'].build).toBe('.');
    for (const s of Object.values(compose.services) as Array<{ healthcheck?: { test: unknown } }>)
      expect(s.healthcheck?.test).toBeTruthy();
    expect(compose.services['pgpool-ts'].depends_on.postgres.condition).toBe('service_healthy');
  });

  it('mounts a pgpool.conf that loads cleanly and points at the postgres service, on the published ports', () => {
    const [src, dst] = (compose.services['pgpool-ts'].volumes[0] as string).split(':');
    expect(dst).toBe('/etc/pgpool-ts/pgpool.conf');
    expect(dockerfile).toContain('"/etc/pgpool-ts/pgpool.conf"');
    const loaded = loadConfig(path.join(repoRoot, src));
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const cfg = loaded.config;
    expect(nodeValue(cfg.backend_hostname, 0)).toBe('postgres');
    expect(nodeValue(cfg.backend_port, 0)).toBe(5432);
    expect(compose.services['pgpool-ts'].ports).toEqual([
      `${cfg.port}:${cfg.port}`,
      `${cfg.metrics_port}:${cfg.metrics_port}`,
    ]);
    expect(cfg.listen_addresses).toEqual(['*']);
    expect(dockerfile).toContain(`EXPOSE ${cfg.port} ${cfg.metrics_port}`);
  });

  it('has Prometheus scrape pgpool-ts on its metrics port', () => {
    const [src, dst] = (compose.services.prometheus.volumes[0] as string).split(':');
    expect(dst).toBe('/etc/prometheus/prometheus.yml');
    const prom = parse(fs.readFileSync(path.join(repoRoot, src), 'utf8'));
    const cfg = loadConfig(path.join(repoRoot, 'conf/docker/pgpool.conf')).config;
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual([`pgpool-ts:${cfg.metrics_port}`]);
  });
});

describe('Dockerfile', () => {
  it('builds on node:24-slim (Node 24 LTS), installs production dependencies only, and runs as a non-root user', () => {
    expect(dockerfile).toMatch(/^FROM node:24-slim AS build$/m);
    expect(dockerfile).toMatch(/^FROM node:24-slim$/m);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
