// pool_hba.conf's verdicts with pgpool's messages, pool_passwd problems and reloads,
// TLS towards clients (SSLRequest 'S', hostssl/hostnossl, cert authentication by CN)
// and towards a PostgreSQL that offers TLS.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Stored } from '../../src/auth/md5.js';
import { aesEncrypt } from '../../src/auth/pool-key.js';
import { startPostgres, type PostgresInstance } from '../../src/dev/postgres-instance.js';
import { SSL_REQUEST_CODE } from '../../src/protocol/codes.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { backendPid, connectError, withClient } from '../helpers/clients.js';
import { startPooler, stopAllPoolers, type Pooler } from '../helpers/pooler.js';
import { freePort } from '../helpers/ports.js';
import { rawConnect, requestPacket, startupPacket } from '../helpers/raw.js';
import { repoRoot } from '../helpers/shared.js';
import { USERS } from './global-setup.js';

let certs: TestCerts;
const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-certs-'));
beforeAll(() => {
  certs = makeCerts(certDir);
});
afterAll(async () => {
  await stopAllPoolers();
  fs.rmSync(certDir, { recursive: true, force: true });
});

const hbaPooler = (
  hba: string,
  values: Record<string, string | number | boolean> = {},
  files: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
) =>
  startPooler(
    { num_init_children: 2, worker_processes: 1, enable_pool_hba: true, ...values },
    { 'pool_hba.conf': hba, ...files },
    env,
  );

const noEntry = (user: string, database: string, ssl: 'on' | 'off') => ({
  code: '28000',
  severity: 'FATAL',
  message: 'client authentication failed',
  detail: `no pool_hba.conf entry for host "127.0.0.1", user "${user}", database "${database}", SSL ${ssl}`,
  hint: 'see pgpool log for details',
});

describe('pool_hba.conf', () => {
  it('refuses a client no record matches, and one a reject record matches, with the same FATAL; others still get in', async () => {
    const p = await hbaPooler('host app alice 127.0.0.1/32 trust\nhost app bob 127.0.0.1/32 reject\n');
    expect(await connectError(p.client('postgres', 'app'))).toMatchObject(noEntry('postgres', 'app', 'off'));
    expect(await connectError(p.client('bob', 'app'))).toMatchObject(noEntry('bob', 'app', 'off'));
    expect(await connectError(p.client('alice', 'app2'))).toMatchObject(noEntry('alice', 'app2', 'off'));
    expect(await backendPid(p.client('alice', 'app'))).toBeGreaterThan(0);
    await p.waitForLog(/pool_hba.conf line 2 rejects the client/);
    await p.stop();
  });

  it('applies local records to unix-socket clients and host records to TCP clients', async () => {
    const p = await hbaPooler('local all all trust\nhost all all all reject\n');
    expect(await backendPid({ host: p.dir, port: p.port, user: 'alice', database: 'app' })).toBeGreaterThan(0);
    expect(await connectError(p.client('alice', 'app'))).toMatchObject(noEntry('alice', 'app', 'off'));
    await p.stop();
  });

  it("refuses everyone with pgpool's message while pool_hba.conf is broken, and names the file and line in the log", async () => {
    const p = await hbaPooler('host all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/33 md5\n');
    expect(await connectError(p.client('alice', 'app'))).toMatchObject({
      code: '28000',
      message: 'client authentication failed',
      detail: 'missing or erroneous pool_hba.conf file',
    });
    await p.waitForLog(/pool_hba\.conf:2: invalid IP mask \\"127\.0\.0\.1\/33\\"/);
    // Said loudly at start too, by the supervisor, not only by refusing each client.
    expect(p.logs()).toMatch(/pool_hba\.conf has errors: every client is refused until it is fixed and reloaded/);
    // Fixed and reloaded: served again.
    fs.writeFileSync(path.join(p.dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
    p.proc.kill('SIGHUP');
    await expect
      .poll(() => backendPid(p.client('alice', 'app')).catch(() => 0), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await p.stop();
  });

  it("takes the 0/0 lines of pgpool's own set-up scripts and PostgreSQL's short IPv4 forms", async () => {
    for (const hba of [
      'host all all 0/0 trust\n',
      'host all all 127.1/32 trust\n',
      'host all all 127.1 255.0.0.0 trust\n',
    ]) {
      const p = await hbaPooler(hba);
      expect(await backendPid(p.client('alice', 'app'))).toBeGreaterThan(0);
      expect(p.logs()).not.toMatch(/pool_hba\.conf:1/);
      await p.stop();
    }
  });

  it('says clearly that pam and ldap are not supported', async () => {
    const p = await hbaPooler('host all all 127.0.0.1/32 pam\n');
    expect(await connectError(p.client('alice', 'app'))).toMatchObject({
      code: '0A000',
      message: 'pam authentication is not supported by pgpool-ts',
    });
    await p.stop();
  });

  it('authentication_timeout bounds the whole start-up: a client that never answers the password request is refused', async () => {
    const p = await hbaPooler(
      'host all all 127.0.0.1/32 md5\n',
      { pool_passwd: 'pool_passwd', authentication_timeout: 1 },
      { pool_passwd: `${USERS.md5.name}:${md5Stored(USERS.md5.password, USERS.md5.name)}\n` },
    );
    const raw = await rawConnect(p.port);
    const t0 = Date.now();
    raw.send(startupPacket({ user: USERS.md5.name, database: 'app' }));
    const challenge = await raw.read(13);
    expect([String.fromCharCode(challenge[0]), challenge.readInt32BE(5)]).toEqual(['R', 5]); // md5, with a salt
    const all = await raw.closed(5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    const error = all.subarray(13).toString('latin1');
    expect(error).toContain('C08P01\0');
    expect(error).toContain('Mauthentication timeout\0');
    expect(await backendPid({ ...p.client(USERS.md5.name, 'app'), password: USERS.md5.password })).toBeGreaterThan(0);
    await p.stop();
  });

  it('refuses md5 for a user without a pool_passwd entry, and an AES entry the key does not open, as a wrong password; the log says why', async () => {
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-key-'));
    const keyFile = path.join(keyDir, 'key');
    fs.writeFileSync(keyFile, 'the right key\n', { mode: 0o600 });
    const passwd = `${USERS.md5.name}:AES${aesEncrypt(USERS.md5.password, 'another key')}\n`;
    const p = await hbaPooler(
      'host all all 127.0.0.1/32 md5\n',
      { pool_passwd: 'pool_passwd' },
      { pool_passwd: passwd },
      { PGPOOLKEYFILE: keyFile },
    );
    // No user enumeration (no-enumeration.int.test.ts): the client is told a wrong password.
    const wrongPassword = {
      code: '28P01',
      message: 'md5 authentication failed',
      detail: 'password does not match (client to pgpool-ts)',
    };
    expect(await connectError({ ...p.client(USERS.scram.name, 'app'), password: USERS.scram.password })).toMatchObject(
      wrongPassword,
    );
    expect(await connectError({ ...p.client(USERS.md5.name, 'app'), password: USERS.md5.password })).toMatchObject(
      wrongPassword,
    );
    await p.waitForLog(new RegExp(`pool_passwd file does not contain an entry for \\\\"${USERS.scram.name}\\\\"`));
    await p.waitForLog(
      /unable to decrypt password from pool_passwd \(client to pgpool-ts\); verify the valid pool_key exists/,
    );
    await p.stop();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  it('rereads pool_passwd on SIGHUP', async () => {
    const p = await hbaPooler(
      'host all all 127.0.0.1/32 md5\n',
      { pool_passwd: 'pool_passwd' },
      { pool_passwd: `${USERS.md5.name}:${md5Stored('old password', USERS.md5.name)}\n` },
    );
    const cfg = { ...p.client(USERS.md5.name, 'app'), password: USERS.md5.password };
    expect(await connectError(cfg)).toMatchObject({
      message: 'md5 authentication failed',
      detail: 'password does not match (client to pgpool-ts)',
    });
    fs.writeFileSync(
      path.join(p.dir, 'pool_passwd'),
      `${USERS.md5.name}:${md5Stored(USERS.md5.password, USERS.md5.name)}\n`,
    );
    p.proc.kill('SIGHUP');
    await expect.poll(() => backendPid(cfg).catch(() => 0), { timeout: 10_000 }).toBeGreaterThan(0);
    await p.stop();
  });
});

describe('pool_passwd tools (pg_md5, pg_enc, pg_keygen)', () => {
  it('fill pool_passwd with entries the pooler accepts, and create the key file with mode 0600', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpool-ts-tools-'));
    const conf = path.join(dir, 'pgpool.conf');
    fs.writeFileSync(conf, "pool_passwd = 'pool_passwd'\n");
    const keyFile = path.join(dir, 'pgpoolkey');
    const tool = (...args: string[]) =>
      execFileSync(process.execPath, [path.join(repoRoot, 'bin/pgpool-ts.js'), ...args], { encoding: 'utf8' });
    expect(tool('pg_keygen', '-k', keyFile)).toBe(`created ${keyFile} (mode 0600)\n`);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    tool('pg_enc', '-m', '-k', keyFile, '-u', USERS.scram.name, '-f', conf, USERS.scram.password);
    tool('pg_md5', '-m', '-u', USERS.md5.name, '-f', conf, USERS.md5.password);
    tool('pg_enc', '--text', '-m', '-u', USERS.clear.name, '-f', conf, USERS.clear.password);
    const text = fs.readFileSync(path.join(dir, 'pool_passwd'), 'utf8');
    expect(text).toMatch(
      new RegExp(
        `^${USERS.scram.name}:AES[A-Za-z0-9+/=]+\n${USERS.md5.name}:${md5Stored(USERS.md5.password, USERS.md5.name)}\n${USERS.clear.name}:TEXT${USERS.clear.password}\n$`,
      ),
    );
    expect(fs.statSync(path.join(dir, 'pool_passwd')).mode & 0o777).toBe(0o600);
    const p = await hbaPooler(
      'host all all 127.0.0.1/32 md5\n',
      { pool_passwd: 'pool_passwd' },
      { pool_passwd: text },
      { PGPOOLKEYFILE: keyFile },
    );
    for (const u of Object.values(USERS)) {
      expect(await backendPid({ ...p.client(u.name, 'app'), password: u.password })).toBeGreaterThan(0);
    }
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('TLS towards clients', () => {
  const tlsValues = () => ({ ssl: true, ssl_cert: certs.serverCert, ssl_key: certs.serverKey, ssl_ca_cert: certs.ca });
  const ssl = (extra: object = {}) => ({ ca: fs.readFileSync(certs.ca), rejectUnauthorized: true, ...extra });

  it('answers SSLRequest with S, serves a verified TLS session, and keeps hostssl/hostnossl apart', async () => {
    const p = await hbaPooler(
      'hostssl app all 127.0.0.1/32 trust\nhostnossl app2 all 127.0.0.1/32 trust\n',
      tlsValues(),
    );
    const raw = await rawConnect(p.port);
    raw.send(requestPacket(SSL_REQUEST_CODE));
    expect((await raw.read(1)).toString('latin1')).toBe('S');
    raw.socket.destroy();
    const cfg = { ...p.client('alice', 'app'), ssl: ssl() };
    await withClient(cfg, async (c) => {
      expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
      expect((c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted).toBe(
        true,
      );
    });
    expect(await connectError(p.client('alice', 'app'))).toMatchObject(noEntry('alice', 'app', 'off'));
    expect(await connectError({ ...p.client('alice', 'app2'), ssl: ssl() })).toMatchObject(
      noEntry('alice', 'app2', 'on'),
    );
    expect(await backendPid(p.client('alice', 'app2'))).toBeGreaterThan(0);
    await p.stop();
  });

  it('cert: a client certificate whose CN is the user gets in; another user, or no certificate, does not', async () => {
    const p = await hbaPooler('hostssl all all 127.0.0.1/32 cert\n', tlsValues());
    const alice = certs.client('alice');
    const withCert = (c: { cert: string; key: string }) =>
      ssl({ cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key) });
    expect(await backendPid({ ...p.client('alice', 'app'), ssl: withCert(alice) })).toBeGreaterThan(0);
    const certFailed = {
      code: '28P01',
      message: 'CERT authentication failed',
      detail: 'no valid certificate presented (client to pgpool-ts)',
    };
    expect(await connectError({ ...p.client('bob', 'app'), ssl: withCert(alice) })).toMatchObject(certFailed);
    expect(await connectError({ ...p.client('alice', 'app'), ssl: ssl() })).toMatchObject(certFailed);
    await p.stop();
  });

  it('opens an encrypted key with ssl_passphrase_command and takes CAs from ssl_ca_cert_dir', async () => {
    const encKey = path.join(certs.dir, 'server-enc.key');
    execFileSync(
      'openssl',
      ['rsa', '-in', certs.serverKey, '-aes256', '-passout', 'pass:open sesame', '-out', encKey],
      { stdio: 'ignore' },
    );
    const caDir = path.join(certs.dir, 'cas');
    fs.mkdirSync(caDir, { recursive: true });
    fs.copyFileSync(certs.ca, path.join(caDir, 'test-ca.pem'));
    const p = await hbaPooler('hostssl all all 127.0.0.1/32 cert\n', {
      ssl: true,
      ssl_cert: certs.serverCert,
      ssl_key: encKey,
      ssl_passphrase_command: 'echo "open sesame"',
      ssl_ca_cert_dir: caDir,
    });
    const bob = certs.client('bob');
    expect(
      await backendPid({
        ...p.client('bob', 'app'),
        ssl: ssl({ cert: fs.readFileSync(bob.cert), key: fs.readFileSync(bob.key) }),
      }),
    ).toBeGreaterThan(0);
    await p.stop();
    await expect(
      startPooler({ ssl: true, ssl_cert: certs.serverCert, ssl_key: encKey, ssl_passphrase_command: 'echo wrong' }),
    ).rejects.toThrow(/ssl_cert\/ssl_key: .*(bad decrypt|bad password)/);
  });

  it('refuses to start when ssl = on and a certificate file is missing, naming the parameter', async () => {
    await expect(startPooler({ ssl: true, ssl_cert: 'missing.crt', ssl_key: certs.serverKey })).rejects.toThrow(
      /ssl_cert: could not read .*missing\.crt.*: ENOENT/,
    );
  });
});

describe('TLS towards PostgreSQL', () => {
  let tlsPg: PostgresInstance;
  let p: Pooler;
  beforeAll(async () => {
    tlsPg = await startPostgres({ port: await freePort(), tls: { cert: certs.serverCert, key: certs.serverKey } });
  });
  afterAll(async () => {
    await p?.stop();
    await tlsPg?.stop();
  });

  it('uses TLS to a backend that offers it when ssl = on, and plain TCP when ssl = off', async () => {
    const sslOf = (cfg: pg.ClientConfig) =>
      withClient(
        cfg,
        async (c) => (await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl as boolean,
      );
    p = await startPooler({
      backend_port0: tlsPg.port,
      ssl: true,
      ssl_cert: certs.serverCert,
      ssl_key: certs.serverKey,
      num_init_children: 2,
      worker_processes: 1,
    });
    expect(await sslOf(p.client('postgres', 'postgres'))).toBe(true);
    await p.stop();
    p = await startPooler({ backend_port0: tlsPg.port, num_init_children: 2, worker_processes: 1 });
    expect(await sslOf(p.client('postgres', 'postgres'))).toBe(false);
  });
});
