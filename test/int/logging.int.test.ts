// Where the lines go: logging_collector's files (reopened on SIGHUP, renamed on reload),
// syslog through logger, and text lines with DETAIL as pgpool writes them.
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPooler, stopAllPoolers } from '../helpers/pooler.js';

afterAll(stopAllPoolers);

/** Waits until `file` exists and contains `re`; returns its text. */
async function fileWith(file: string, re: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (re.test(text)) return text;
    if (Date.now() > until) throw new Error(`${file} did not get ${re} within ${timeoutMs} ms; it has:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function oneSession(client: pg.ClientConfig, sql = 'SELECT 1'): Promise<void> {
  const c = new pg.Client(client);
  await c.connect();
  await c.query(sql);
  await c.end();
}

describe('logging_collector', () => {
  it("writes every process's lines to log_directory/log_filename (mode log_file_mode), reopens a moved file on SIGHUP and follows a new log_filename on reload", async () => {
    const name = 'pgpool-%Y-%m-%d.log';
    const today = (d = new Date()) =>
      `pgpool-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.log`;
    const values = {
      logging_collector: true,
      log_directory: 'logs',
      log_filename: name,
      worker_processes: 1,
      num_init_children: 1,
    };
    const p = await startPooler(
      values,
      {},
      {},
      { started: (dir) => fileWith(path.join(dir, 'logs', today()), /successfully started/) },
    );
    const file = path.join(p.dir, 'logs', today());
    await oneSession(p.client());
    // The worker's line came through the supervisor, in text form (auto is text for files).
    const text = await fileWith(file, /new connection received/);
    expect(text).toMatch(/: pgpool-ts worker 0 pid \d+: LOG:  new connection received/);
    expect(text).toMatch(/: pgpool-ts pid \d+: LOG:  pgpool-ts successfully started/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(p.logs()).not.toMatch(/new connection received|successfully started/);

    // logrotate's way: move the file, then SIGHUP; the next lines go to a new file of the same name.
    fs.renameSync(file, `${file}.1`);
    p.proc.kill('SIGHUP');
    await fileWith(file, /reload config files/);
    await oneSession(p.client(), 'SELECT 2');
    await fileWith(file, /new connection received/);
    expect(fs.readFileSync(`${file}.1`, 'utf8')).not.toMatch(/reload config files/);

    // A new log_filename on reload opens that file at once.
    fs.appendFileSync(p.conf, "log_filename = 'renamed.log'\n");
    p.proc.kill('SIGHUP');
    const renamed = path.join(p.dir, 'logs', 'renamed.log');
    await fileWith(renamed, /reloaded parameters/);
    await oneSession(p.client(), 'SELECT 3');
    await fileWith(renamed, /new connection received/);
    await p.stop();
  });
});

describe('log_destination = syslog', () => {
  it("sends each line with its facility and severity and syslog_ident, workers' lines included", async () => {
    const server = dgram.createSocket('udp4');
    const got: string[] = [];
    server.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const port = server.address().port;
    const p = await startPooler({
      log_destination: 'stderr,syslog',
      syslog_socket: `udp://127.0.0.1:${port}`,
      syslog_ident: 'pgts-test',
      syslog_facility: 'LOCAL3',
      log_format: 'json',
      worker_processes: 1,
      num_init_children: 1,
    });
    await oneSession(p.client());
    const until = Date.now() + 10_000;
    while (!got.some((m) => m.includes('new connection received')) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    server.close();
    const started = got.find((m) => m.includes('successfully started'));
    // LOCAL3 (19) × 8 + info (6) = 158
    expect(started).toMatch(/^<158>/);
    expect(started).toContain('pgts-test');
    expect(got.find((m) => m.includes('new connection received'))).toMatch(/^<158>.*"name":"pgpool-ts worker 0"/);
    // stderr still has them: the destination is stderr and syslog.
    expect(p.logs()).toMatch(/successfully started/);
    await p.stop();
  });
});

describe('log_hostname', () => {
  it("adds the client's host name, by reverse lookup, to the connection line", async () => {
    const p = await startPooler({ log_hostname: true, log_format: 'json', worker_processes: 1, num_init_children: 1 });
    await oneSession(p.client());
    const line = JSON.parse(await p.waitForLog(/new connection received/)) as { host?: string; peer: string };
    // What getnameinfo says of 127.0.0.1 here ("localhost" on Debian), never the bare address.
    const expected = (await dns.lookupService('127.0.0.1', 0)).hostname;
    expect(expected).not.toBe('127.0.0.1');
    expect(line.host).toBe(expected);
    expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    await p.stop();
  });
});

describe('text lines', () => {
  it('put DETAIL on its own line after the message, with the prefix', async () => {
    const p = await startPooler({
      log_format: 'text',
      log_line_prefix: '%a[%p]: ',
      log_client_messages: true,
      worker_processes: 1,
      num_init_children: 1,
    });
    await oneSession(p.client(), 'SELECT 7');
    await p.waitForLog(/Terminate message from frontend/);
    expect(p.logs()).toMatch(
      /pgpool-ts worker 0\[\d+\]: LOG:  Query message from frontend\.  \(user=postgres database=app client=127\.0\.0\.1:\d+ backendPid=\d+\)\npgpool-ts worker 0\[\d+\]: DETAIL:  query: "SELECT 7"\n/,
    );
    await p.stop();
  });
});
