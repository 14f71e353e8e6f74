// Test certificates made with openssl: a CA, a server certificate for 127.0.0.1 and
// client certificates whose CN is a user name, all signed by that CA.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  client(cn: string): { cert: string; key: string };
}

const openssl = (dir: string, args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

export function makeCerts(dir: string): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=pgpool-ts test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  const issue = (name: string, cn: string, ext?: string) => {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    const extArgs = ext ? ['-extfile', path.join(dir, `${name}.ext`)] : [];
    if (ext) fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      ...extArgs,
    ]);
    fs.chmodSync(path.join(dir, `${name}.key`), 0o600);
  };
  issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const made = new Set<string>();
  return {
    dir,
    ca: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
    client(cn: string) {
      const name = `client-${cn}`;
      if (!made.has(cn)) issue(name, cn);
      made.add(cn);
      return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
    },
  };
}
