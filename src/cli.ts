// The pgpool-ts command, with pgpool's options:
//   pgpool-ts [-f pgpool.conf] [-F pcp.conf] [-a pool_hba.conf] [-k key] [-n] [-D] [-d] [-C] [-x]
//   pgpool-ts [-f …] [-m smart|fast|immediate] stop
//   pgpool-ts [-f …] reload
//   pgpool-ts --check-config [-f …]
//   pgpool-ts pg_md5 | pg_enc | pg_keygen …   (pool_passwd tools, see admin/passwd-tool.ts)
import { PASSWD_TOOLS, runPasswdTool } from './admin/passwd-tool.js';
import { clientTls } from './protocol/tls.js';
import { poolKeyFile } from './auth/pool-key.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfigFile, loadConfig, type LoadedConfig } from './config/conf-loader.js';
import { formatDiagnostic, type Diagnostic } from './config/diagnostic.js';
import { loadPcpConf } from './config/pcp-conf.js';
import { loadPoolHba } from './config/pool-hba.js';
import { loadPoolPasswd, poolPasswdFile } from './config/pool-passwd.js';
import { isAlive, pidFilePath, readPid, removePidFile } from './supervisor/pid-file.js';
import type { StopMode } from './ipc/messages.js';
import { listenEarly } from './supervisor/listen-early.js';
import { version } from './version.js';

export interface CliOptions {
  configFile?: string;
  pcpFile?: string;
  hbaFile?: string;
  keyFile?: string;
  foreground: boolean;
  debug: boolean;
  discardStatus: boolean;
  mode: StopMode;
  command: 'start' | 'stop' | 'reload' | 'check-config' | 'help' | 'version';
}

export const USAGE = `pgpool-ts: a PostgreSQL connection pooler compatible with pgpool-II's configuration

Usage:
  pgpool-ts [ -c] [ -f CONFIG_FILE ] [ -F PCP_CONFIG_FILE ] [ -a HBA_CONFIG_FILE ]
            [ -n ] [ -D ] [ -d ] [ -k KEY_FILE ]
  pgpool-ts [ -f CONFIG_FILE ] [ -F PCP_CONFIG_FILE ] [ -a HBA_CONFIG_FILE ]
            [ -m SHUTDOWN-MODE ] stop
  pgpool-ts [ -f CONFIG_FILE ] [ -F PCP_CONFIG_FILE ] [ -a HBA_CONFIG_FILE ] reload
  pgpool-ts --check-config [ -f CONFIG_FILE ]
  pgpool-ts pg_md5 | pg_enc | pg_keygen ...   (fill pool_passwd; pgpool-ts pg_md5 --help)

Common options:
  -a, --hba-file=HBA_CONFIG_FILE   Set the path to the pool_hba.conf configuration file
  -f, --config-file=CONFIG_FILE    Set the path to the pgpool.conf configuration file
  -F, --pcp-file=PCP_CONFIG_FILE   Set the path to the pcp.conf configuration file
  -k, --key-file=KEY_FILE          Set the path to the pgpool key file
  -h, --help                       Print this help
  -v, --version                    Print the version

Start options:
  -C, --clear-oidmaps              Accepted for compatibility (no query cache)
  -n, --dont-detach                Don't run in daemon mode, does not detach control tty
  -x, --debug-assertions           Accepted for compatibility
  -D, --discard-status             Discard pgpool_status file and do not restore previous status
  -d, --debug                      Debug mode
      --check-config               Check the configuration files, list every problem, and exit

Stop options:
  -m, --mode=SHUTDOWN-MODE         Can be "smart", "fast", or "immediate"

Shutdown modes are:
  smart       quit after all clients have disconnected
  fast        quit directly, with proper shutdown
  immediate   the same mode as fast
`;

const WITH_VALUE: Record<string, keyof CliOptions> = {
  '-f': 'configFile',
  '--config-file': 'configFile',
  '-F': 'pcpFile',
  '--pcp-file': 'pcpFile',
  '-a': 'hbaFile',
  '--hba-file': 'hbaFile',
  '-k': 'keyFile',
  '--key-file': 'keyFile',
  '-m': 'mode',
  '--mode': 'mode',
};

export function parseArgs(argv: readonly string[]): CliOptions | { error: string } {
  const o: CliOptions = { foreground: false, debug: false, discardStatus: false, mode: 'smart', command: 'start' };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (/^-[fFakm]./.test(arg)) {
      inline = arg.slice(2);
      arg = arg.slice(0, 2);
    }
    const key = WITH_VALUE[arg];
    if (key) {
      const v = inline ?? argv[++i];
      if (v === undefined) return { error: `option ${arg} requires a value` };
      if (key === 'mode') {
        // pgpool accepts any word starting with s, f or i.
        const m = v[0] === 's' ? 'smart' : v[0] === 'f' ? 'fast' : v[0] === 'i' ? 'immediate' : undefined;
        if (!m) return { error: `invalid shutdown mode "${v}"` };
        o.mode = m;
      } else (o as unknown as Record<string, string>)[key] = v;
      continue;
    }
    switch (arg) {
      case '-n':
      case '--dont-detach':
        o.foreground = true;
        break;
      case '-d':
      case '--debug':
        o.debug = true;
        break;
      case '-D':
      case '--discard-status':
        o.discardStatus = true;
        break;
      case '-C':
      case '--clear-oidmaps':
      case '-x':
      case '--debug-assertions':
      case '-c':
        break;
      case '-h':
      case '--help':
        o.command = 'help';
        break;
      case '-v':
      case '--version':
        o.command = 'version';
        break;
      case '--check-config':
        o.command = 'check-config';
        break;
      default:
        if (arg.startsWith('-')) return { error: `invalid option -- '${arg}'` };
        words.push(arg);
    }
  }
  if (words.length > 1) return { error: `too many arguments: ${words.join(' ')}` };
  if (words.length === 1) {
    if (words[0] !== 'stop' && words[0] !== 'reload') return { error: `unknown command "${words[0]}"` };
    if (o.command === 'start') o.command = words[0];
  }
  return o;
}

/** Absolute paths of the three files; pcp.conf and pool_hba.conf default to the directory of pgpool.conf. */
export function resolvePaths(
  o: CliOptions,
  cwd = process.cwd(),
  exists = fs.existsSync,
): { config: string; pcp: string; hba: string } {
  const config = o.configFile ? path.resolve(cwd, o.configFile) : defaultConfigFile(exists);
  const dir = path.dirname(config);
  return {
    config,
    pcp: o.pcpFile ? path.resolve(cwd, o.pcpFile) : path.join(dir, 'pcp.conf'),
    hba: o.hbaFile ? path.resolve(cwd, o.hbaFile) : path.join(dir, 'pool_hba.conf'),
  };
}

/** Every problem of the configuration files; the pcp.conf, pool_hba.conf and pool_passwd ones too when present or needed. */
export function checkAll(loaded: LoadedConfig, paths: { pcp: string; hba: string }): Diagnostic[] {
  const out = [...loaded.diagnostics];
  const cfg = loaded.config;
  if (cfg.enable_pool_hba) out.push(...loadPoolHba(paths.hba).diagnostics);
  if (fs.existsSync(paths.pcp)) out.push(...loadPcpConf(paths.pcp).diagnostics);
  if (cfg.pool_passwd !== '') {
    const f = poolPasswdFile(loaded.file, cfg.pool_passwd);
    if (fs.existsSync(f)) out.push(...loadPoolPasswd(f).diagnostics);
  }
  if (cfg.ssl) {
    try {
      clientTls(cfg, path.dirname(loaded.file));
    } catch (e) {
      const param = /^(ssl_\w+)/.exec((e as Error).message)?.[1] ?? 'ssl';
      out.push({
        severity: 'error',
        file: loaded.file,
        line: loaded.sources.get(param)?.line ?? 0,
        param,
        message: (e as Error).message,
      });
    }
  }
  for (const name of loaded.notImplemented) {
    out.push({
      severity: 'info',
      file: loaded.file,
      line: loaded.sources.get(name)?.line ?? 0,
      param: name,
      message: `parameter "${name}" is accepted but not implemented by pgpool-ts yet`,
    });
  }
  return out;
}

function pidFileOf(loaded: LoadedConfig): string {
  return pidFilePath(loaded.config, path.dirname(loaded.file));
}

async function stopCommand(loaded: LoadedConfig, mode: StopMode): Promise<number> {
  const file = pidFileOf(loaded);
  const pid = readPid(file);
  if (pid === undefined) {
    process.stderr.write(`FATAL: could not read pid file "${file}"\n`);
    return 3;
  }
  const signal = mode === 'smart' ? 'SIGTERM' : mode === 'fast' ? 'SIGINT' : 'SIGQUIT';
  try {
    process.kill(pid, signal);
  } catch (e) {
    process.stderr.write(`FATAL: could not send stop request to pgpool-ts (pid ${pid}): ${(e as Error).message}\n`);
    return 3;
  }
  process.stderr.write(`stop request sent to pgpool-ts (pid: ${pid}). waiting for termination...`);
  for (let s = 1; isAlive(pid); s++) {
    await new Promise((r) => setTimeout(r, 1000));
    process.stderr.write('.');
    if (s % 5 === 0 && isAlive(pid)) process.kill(pid, signal);
  }
  process.stderr.write('done.\n');
  return 0;
}

function reloadCommand(loaded: LoadedConfig): number {
  const file = pidFileOf(loaded);
  const pid = readPid(file);
  if (pid === undefined || !isAlive(pid)) {
    process.stderr.write(`FATAL: could not read pid file "${file}"\n`);
    return 1;
  }
  process.kill(pid, 'SIGHUP');
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length > 0 && PASSWD_TOOLS.has(argv[0])) {
    return runPasswdTool(
      argv[0],
      argv.slice(1),
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
  }
  const o = parseArgs(argv);
  if ('error' in o) {
    process.stderr.write(`pgpool-ts: ${o.error}\n\n${USAGE}`);
    return 1;
  }
  if (o.command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.command === 'version') {
    process.stdout.write(`pgpool-ts ${version()} (pgpool-II 4.8 compatible)\n`);
    return 0;
  }
  const paths = resolvePaths(o);
  const loaded = loadConfig(paths.config);
  const problems = o.command === 'check-config' ? checkAll(loaded, paths) : loaded.diagnostics;
  const errors = problems.filter((d) => d.severity === 'error');
  if (o.command === 'check-config') {
    for (const d of problems) process.stdout.write(formatDiagnostic(d) + '\n');
    process.stdout.write(
      errors.length === 0
        ? `${paths.config}: configuration is valid\n`
        : `${paths.config}: ${errors.length} error(s)\n`,
    );
    return errors.length === 0 ? 0 : 1;
  }
  if (errors.length > 0) {
    for (const d of errors) process.stderr.write(formatDiagnostic(d) + '\n');
    return 3;
  }
  if (o.command === 'stop') return stopCommand(loaded, o.mode);
  if (o.command === 'reload') return reloadCommand(loaded);
  if (!o.foreground) return daemonize(argv);
  // Listening first, the rest loaded after: the port answers within a few hundred ms of exec.
  let early;
  try {
    early = await listenEarly(loaded.config, path.dirname(loaded.file));
  } catch (e) {
    process.stderr.write(`pgpool-ts: FATAL: ${(e as Error).message}\n`);
    return 3;
  }
  const [{ configuredLogger }, { LogOutput, logOutputSettings }, { Supervisor }] = await Promise.all([
    import('./logging/logger.js'),
    import('./logging/log-output.js'),
    import('./supervisor/supervisor.js'),
  ]);
  const output = new LogOutput();
  output.configure(logOutputSettings(loaded.config, path.dirname(loaded.file)));
  const log = configuredLogger('pgpool-ts', loaded.config, output.write, o.debug);
  for (const d of loaded.diagnostics) log.warn(formatDiagnostic(d));
  // A broken pool_hba.conf is said at start, loudly, not only by refusing every client later.
  if (loaded.config.enable_pool_hba) {
    const hba = loadPoolHba(paths.hba).diagnostics;
    for (const d of hba) log.error(formatDiagnostic(d));
    if (hba.length > 0) log.error(`${paths.hba} has errors: every client is refused until it is fixed and reloaded`);
  }
  if (loaded.notImplemented.length > 0)
    log.warn(
      { parameters: loaded.notImplemented },
      'these parameters are accepted but not implemented by pgpool-ts yet',
    );
  const supervisor = new Supervisor(
    loaded,
    { hba: paths.hba, poolKey: poolKeyFile(o.keyFile), pcp: paths.pcp },
    { output, debug: o.debug },
    early,
    { discardStatus: o.discardStatus },
  );
  try {
    await supervisor.start();
  } catch (e) {
    log.fatal((e as Error).message);
    early.listeners.close();
    removePidFile(early.pidFile);
    return 3;
  }
  return supervisor.waitForExit();
}

/** Without -n, pgpool detaches: start again in the background with -n and return. */
function daemonize(argv: readonly string[]): number {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url).replace(/cli\.js$/, '../bin/pgpool-ts.js'), ...argv, '-n'],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  return 0;
}
