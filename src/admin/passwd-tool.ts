// The jobs of pgpool's pg_md5 and pg_enc, as pgpool-ts subcommands: print or store a
// user's password in pool_passwd as an md5 hash, an AES entry or TEXT, and create the
// key file for AES entries with safe permissions.
//   pgpool-ts pg_md5 [-m] [-u USER] [-f pgpool.conf] [-p | PASSWORD]
//   pgpool-ts pg_enc [-m] [-k KEY_FILE | -K KEY] [-u USER] [-f pgpool.conf] [-p | PASSWORD]
//   pgpool-ts pg_enc --text -m [-u USER] [-f pgpool.conf] [-p | PASSWORD]
//   pgpool-ts pg_keygen [-k KEY_FILE]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { md5hex, md5Stored } from '../auth/md5.js';
import { aesEncrypt, poolKeyFile, readPoolKey } from '../auth/pool-key.js';
import { defaultConfigFile, loadConfig } from '../config/conf-loader.js';
import { poolPasswdFile } from '../config/pool-passwd.js';

export const PASSWD_TOOLS = new Set(['pg_md5', 'pg_enc', 'pg_keygen']);

export const PASSWD_USAGE = `Usage:
  pgpool-ts pg_md5 [-m] [-u USER] [-f CONFIG_FILE] [-p | PASSWORD]
      without -m: print md5(PASSWORD); with -m: store USER's md5 entry in pool_passwd
  pgpool-ts pg_enc [-m] [-k KEY_FILE | -K KEY] [-u USER] [-f CONFIG_FILE] [-p | PASSWORD]
      without -m: print the AES entry; with -m: store it in pool_passwd
  pgpool-ts pg_enc --text -m [-u USER] [-f CONFIG_FILE] [-p | PASSWORD]
      store a TEXT (plain) entry
  pgpool-ts pg_keygen [-k KEY_FILE]
      create a pool key file (mode 0600) with a random key; an existing one is kept
  -p reads the password from the first line of standard input.
  The key file is -k, else $PGPOOLKEYFILE, else ~/.pgpoolkey; pool_passwd is the
  pool_passwd parameter of pgpool.conf (-f, default /etc/pgpool-ts/pgpool.conf),
  relative to pgpool.conf's directory.
`;

const escapeField = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

/** pool_passwd text with USER's line replaced (or appended); other lines untouched. */
export function upsertPoolPasswd(text: string, user: string, password: string): string {
  const line = `${escapeField(user)}:${password}`;
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const prefix = `${escapeField(user)}:`;
  const at = lines.findIndex((l) => l.startsWith(prefix));
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return lines.join('\n') + '\n';
}

interface ToolArgs {
  store: boolean;
  text: boolean;
  prompt: boolean;
  user: string;
  configFile?: string;
  keyFile?: string;
  key?: string;
  password?: string;
}

function parse(argv: readonly string[]): ToolArgs | string {
  const a: ToolArgs = { store: false, text: false, prompt: false, user: os.userInfo().username };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`option ${arg} needs a value`);
      return v;
    };
    const name = arg.startsWith('--') ? arg.split('=')[0] : arg;
    switch (name) {
      case '-m':
      case '--md5auth':
      case '--update-pass':
        a.store = true;
        break;
      case '--text':
        a.text = true;
        break;
      case '-h':
      case '--help':
        throw new Error('help');
      case '-p':
      case '--prompt':
        a.prompt = true;
        break;
      case '-u':
      case '--username':
        a.user = value();
        break;
      case '-f':
      case '--config-file':
        a.configFile = value();
        break;
      case '-k':
      case '--key-file':
        a.keyFile = value();
        break;
      case '-K':
      case '--enc-key':
        a.key = value();
        break;
      default:
        if (arg.startsWith('-')) return `invalid option "${arg}"`;
        if (a.password !== undefined) return 'too many arguments';
        a.password = arg;
    }
  }
  return a;
}

function readStdinLine(): string {
  return fs.readFileSync(0, 'utf8').split('\n')[0].replace(/\r$/, '');
}

function poolPasswdPath(configFile: string | undefined): string {
  const conf = path.resolve(configFile ?? defaultConfigFile());
  const loaded = loadConfig(conf);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`${conf}: ${errors[0].message}`);
  if (loaded.config.pool_passwd === '') throw new Error(`${conf}: pool_passwd is empty, so there is no file to write`);
  return poolPasswdFile(conf, loaded.config.pool_passwd);
}

function store(file: string, user: string, password: string): void {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, upsertPoolPasswd(before, user, password), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Runs one tool; returns the exit code. Output and errors go to the given writers. */
export function runPasswdTool(
  tool: string,
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  let a: ToolArgs | string;
  try {
    a = parse(argv);
  } catch (e) {
    a = (e as Error).message;
  }
  if (a === 'help') {
    out(PASSWD_USAGE);
    return 0;
  }
  if (typeof a === 'string') {
    err(`pgpool-ts ${tool}: ${a}\n\n${PASSWD_USAGE}`);
    return 1;
  }
  try {
    if (tool === 'pg_keygen') {
      const file = poolKeyFile(a.keyFile);
      if (fs.existsSync(file)) {
        out(`${file} exists; kept as it is\n`);
        return 0;
      }
      fs.writeFileSync(file, crypto.randomBytes(24).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      out(`created ${file} (mode 0600)\n`);
      return 0;
    }
    const password = a.prompt ? readStdinLine() : a.password;
    if (password === undefined || password === '')
      throw new Error('no password given (pass it as an argument or use -p)');
    if (tool === 'pg_md5') {
      if (!a.store) {
        out(`${md5hex(password)}\n`);
        return 0;
      }
      store(poolPasswdPath(a.configFile), a.user, md5Stored(password, a.user));
      return 0;
    }
    if (a.text) {
      if (!a.store) throw new Error('--text only stores (-m): a TEXT entry is the password itself');
      store(poolPasswdPath(a.configFile), a.user, `TEXT${password}`);
      return 0;
    }
    let key = a.key;
    if (key === undefined) {
      const file = poolKeyFile(a.keyFile);
      const k = readPoolKey(file);
      if (k.key === undefined) throw new Error(`${k.problem}; create one with: pgpool-ts pg_keygen -k ${file}`);
      if (k.problem) err(`WARNING: ${k.problem}\n`);
      key = k.key;
    }
    const entry = `AES${aesEncrypt(password, key)}`;
    if (!a.store) {
      out(`${entry.slice(3)}\npool_passwd string: ${entry}\n`);
      return 0;
    }
    store(poolPasswdPath(a.configFile), a.user, entry);
    return 0;
  } catch (e) {
    err(`pgpool-ts ${tool}: ${(e as Error).message}\n`);
    return 1;
  }
}
