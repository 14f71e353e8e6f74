// The outcome matrix (docs/behaviour.md#authentication) (pgpool's own client_auth regression
// table), against the test PostgreSQL whose users need scram-sha-256, md5 and a clear-text
// password: for each pool_hba method (or enable_pool_hba = off with
// allow_clear_text_frontend_auth on/off) and each kind of pool_passwd entry, which
// backend methods let a client with the right password in. Where it gets in, a wrong
// password is refused, also when a cached connection is waiting for that user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { md5Stored } from '../../src/auth/md5.js';
import { aesEncrypt } from '../../src/auth/pool-key.js';
import { backendPid, connectError } from '../helpers/clients.js';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';
import { USERS } from './global-setup.js';

afterAll(stopAllPoolers);

type Backend = 'scram' | 'md5' | 'clear';
type Entry = 'AES' | 'md5' | 'TEXT' | 'none';
const ALL: Backend[] = ['scram', 'md5', 'clear'];

// Row → entry kind → backend methods that succeed ('–' cells of the table are left out).
const MATRIX: { row: string; hba?: string; clearText?: boolean; cells: Partial<Record<Entry, Backend[]>> }[] = [
  { row: 'pool_hba scram-sha-256', hba: 'scram-sha-256', cells: { AES: ALL, md5: [], TEXT: ALL, none: [] } },
  { row: 'pool_hba md5', hba: 'md5', cells: { AES: ALL, md5: ['md5'], TEXT: ALL, none: [] } },
  { row: 'pool_hba password', hba: 'password', cells: { AES: ALL, md5: ['md5'], TEXT: ALL, none: ALL } },
  { row: 'pool_hba off, clear text on', clearText: true, cells: { none: ALL } },
  {
    row: 'pool_hba off, clear text off',
    clearText: false,
    cells: { AES: ALL, md5: ['md5'], TEXT: ALL, none: ['clear'] },
  },
];

const KEY = 'matrix secret key';
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-key-'));
const keyFile = path.join(keyDir, '.pgpoolkey');
fs.writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
afterAll(() => fs.rmSync(keyDir, { recursive: true, force: true }));

function passwdFile(kind: Entry): string {
  return (
    Object.values(USERS)
      .map((u) => {
        if (kind === 'AES') return `${u.name}:AES${aesEncrypt(u.password, KEY)}`;
        if (kind === 'md5') return `${u.name}:${md5Stored(u.password, u.name)}`;
        return `${u.name}:TEXT${u.password}`;
      })
      .join('\n') + '\n'
  );
}

describe.each(MATRIX)('$row', ({ hba, clearText, cells }) => {
  for (const [entry, succeeds] of Object.entries(cells) as [Entry, Backend[]][]) {
    it(`pool_passwd ${entry}: ${succeeds.length ? succeeds.join(', ') : 'no backend method'} succeed${succeeds.length === 1 ? 's' : ''}`, async () => {
      const files: Record<string, string> = entry === 'none' ? {} : { pool_passwd: passwdFile(entry) };
      if (hba) files['pool_hba.conf'] = `host all all 127.0.0.1/32 ${hba}\n`;
      const p = await startPooler(
        {
          num_init_children: 1,
          worker_processes: 1,
          enable_pool_hba: hba !== undefined,
          allow_clear_text_frontend_auth: clearText ?? false,
          pool_passwd: entry === 'none' ? '' : 'pool_passwd',
        },
        files,
        { PGPOOLKEYFILE: keyFile },
      );
      // One child: a client that comes back waits for it, so reuse of its cached connection is certain.
      const outcome: Record<string, string> = {};
      for (const b of ALL) {
        const u = USERS[b];
        const cfg = { ...p.client(u.name, 'app'), password: u.password };
        const first = await backendPid(cfg).then(
          (pid) => pid,
          (e: { code?: string }) => e,
        );
        if (typeof first !== 'number') {
          expect(first.code, `${b}: refused with ${JSON.stringify(first)}`).toBe('28P01');
          outcome[b] = 'refused';
          continue;
        }
        outcome[b] = 'ok';
        // The right password got in; a wrong one must not, although a connection is cached now.
        expect(await connectError({ ...cfg, password: 'wrong password' })).toMatchObject({
          code: '28P01',
          severity: 'FATAL',
        });
        expect(await backendPid(cfg)).toBe(first);
      }
      expect(outcome).toEqual(Object.fromEntries(ALL.map((b) => [b, succeeds.includes(b) ? 'ok' : 'refused'])));
      // Nothing secret reaches the log.
      const log = p.logs();
      for (const u of Object.values(USERS)) expect(log).not.toContain(u.password);
      expect(log).not.toContain(KEY);
      await p.stop();
    });
  }
});
