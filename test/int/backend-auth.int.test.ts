// enable_pool_hba = off (docs/behaviour.md#authentication): PostgreSQL asks for scram-sha-256, md5 or a clear-text
// password; the client is asked the same way by pgpool-ts (a SCRAM exchange or an md5
// challenge of its own against pool_passwd, or clear text) and pgpool-ts answers
// PostgreSQL. A cached connection is never handed to a client that has not proved the password.
import { afterAll, describe, expect, it } from 'vitest';
import { md5Stored } from '../../src/auth/md5.js';
import { backendPid, connectError } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { USERS } from './global-setup.js';

afterAll(stopAllPoolers);

const withPw = (cfg: { host: string; port: number; user: string; database: string }, password: string) => ({
  ...cfg,
  password,
});

describe('with pool_passwd entries', () => {
  it('authenticates scram (TEXT entry) and md5 (md5 entry) users, and refuses wrong passwords even with a cached connection', async () => {
    const passwd = `${USERS.scram.name}:TEXT${USERS.scram.password}\n${USERS.md5.name}:${md5Stored(USERS.md5.password, USERS.md5.name)}\n`;
    const p = await startPooler(
      { num_init_children: 1, worker_processes: 1, pool_passwd: 'pool_passwd' },
      { pool_passwd: passwd },
    );
    for (const u of [USERS.scram, USERS.md5]) {
      const first = await backendPid(withPw(p.client(u.name, 'app'), u.password));
      const wrong = await connectError(withPw(p.client(u.name, 'app'), 'wrong'));
      if (u === USERS.scram) {
        expect(wrong).toMatchObject({
          code: '28P01',
          severity: 'FATAL',
          message: 'authentication failed',
          detail: `username "${u.name}" or password does not exist in backend (client to pgpool-ts)`,
        });
      } else {
        expect(wrong).toMatchObject({
          code: '28P01',
          severity: 'FATAL',
          message: 'md5 authentication failed',
          detail: 'password does not match (client to pgpool-ts)',
        });
      }
      expect(await backendPid(withPw(p.client(u.name, 'app'), u.password))).toBe(first);
    }
    await p.stop();
  });

  it('refuses a wrong password on a fresh connection with the client-side error', async () => {
    const passwd = `${USERS.md5.name}:TEXT${USERS.md5.password}\n`;
    const p = await startPooler(
      { num_init_children: 1, worker_processes: 1, pool_passwd: 'pool_passwd' },
      { pool_passwd: passwd },
    );
    const e = await connectError(withPw(p.client(USERS.md5.name, 'app2'), 'wrong'));
    expect(e).toMatchObject({
      code: '28P01',
      severity: 'FATAL',
      message: 'md5 authentication failed',
      detail: 'password does not match (client to pgpool-ts)',
    });
    await p.stop();
  });

  it('says which leg failed when no usable password exists for the backend', async () => {
    const p = await startPooler({ num_init_children: 1, worker_processes: 1 });
    const e = await connectError(withPw(p.client(USERS.md5.name, 'app'), USERS.md5.password));
    expect(e).toMatchObject({
      code: '28P01',
      message: 'failed to authenticate with backend using md5',
      detail: 'valid password not found (pgpool-ts to PostgreSQL)',
    });
    // A clear-text backend: the client is asked for its password whatever allow_clear_text_frontend_auth says.
    expect(await backendPid(withPw(p.client(USERS.clear.name, 'app'), USERS.clear.password))).toBeGreaterThan(0);
    await p.stop();
  });
});

describe('with allow_clear_text_frontend_auth = on', () => {
  it('passes the typed password to PostgreSQL and checks it again on reuse', async () => {
    const p = await startPooler({
      num_init_children: 1,
      worker_processes: 1,
      allow_clear_text_frontend_auth: true,
      pool_passwd: '',
    });
    for (const u of [USERS.clear, USERS.scram, USERS.md5]) {
      const first = await backendPid(withPw(p.client(u.name, 'app'), u.password));
      expect(await connectError(withPw(p.client(u.name, 'app'), 'nope'))).toMatchObject({ code: '28P01' });
      expect(await backendPid(withPw(p.client(u.name, 'app'), u.password))).toBe(first);
    }
    // PostgreSQL's own refusal of a wrong password on a fresh connection reaches the client as is.
    const e = await connectError(withPw(p.client(USERS.scram.name, 'app2'), 'nope'));
    expect(e).toMatchObject({
      code: '28P01',
      severity: 'FATAL',
      message: `password authentication failed for user "${USERS.scram.name}"`,
    });
    await p.stop();
  });
});
