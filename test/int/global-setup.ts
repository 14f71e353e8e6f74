// One real PostgreSQL for the whole integration run, on a free loopback port in a
// temporary directory; removed afterwards. Users for each authentication method.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresInstance } from '../../src/dev/postgres-instance.js';
import { freePort } from '../helpers/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { host: string; port: number; socketDir: string; dataDir: string; baseDir: string };
  }
}

export const USERS = {
  scram: { name: 'scram_user', password: 'scram pw' },
  md5: { name: 'md5_user', password: 'md5 pw' },
  clear: { name: 'pw_user', password: 'clear pw' },
} as const;

let instance: PostgresInstance | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  instance = await startPostgres({
    port: await freePort(),
    hba: [
      `host all ${USERS.scram.name} 127.0.0.1/32 scram-sha-256`,
      `host all ${USERS.md5.name} 127.0.0.1/32 md5`,
      `host all ${USERS.clear.name} 127.0.0.1/32 password`,
    ],
  });
  const c = new pg.Client({ host: instance.host, port: instance.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`SET password_encryption = 'scram-sha-256'`);
  await c.query(`CREATE ROLE ${USERS.scram.name} LOGIN PASSWORD '${USERS.scram.password}'`);
  await c.query(`CREATE ROLE ${USERS.clear.name} LOGIN PASSWORD '${USERS.clear.password}'`);
  await c.query(`SET password_encryption = 'md5'`);
  await c.query(`CREATE ROLE ${USERS.md5.name} LOGIN PASSWORD '${USERS.md5.password}'`);
  await c.query(`CREATE ROLE alice LOGIN`);
  await c.query(`CREATE ROLE bob LOGIN`);
  await c.query(`CREATE DATABASE app`);
  await c.query(`CREATE DATABASE app2`);
  await c.query(`GRANT ALL ON SCHEMA public TO PUBLIC`).catch(() => undefined);
  await c.end();
  for (const db of ['app', 'app2']) {
    const d = new pg.Client({ host: instance.host, port: instance.port, user: 'postgres', database: db });
    await d.connect();
    await d.query(`GRANT ALL ON SCHEMA public TO PUBLIC`);
    await d.end();
  }
  project.provide('pg', {
    host: instance.host,
    port: instance.port,
    socketDir: instance.socketDir,
    dataDir: instance.dataDir,
    baseDir: instance.baseDir,
  });
  return async () => {
    await instance?.stop();
  };
}
