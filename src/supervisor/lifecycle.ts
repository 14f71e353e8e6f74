// The supervisor's life after start (docs/behaviour.md#signals): the running configuration
// and its reload, the signals, the three stop modes, the pid file and systemd's view.
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/conf-loader.js';
import { formatDiagnostic } from '../config/diagnostic.js';
import { withBackends, type SlotAddress } from '../config/discovered-backends.js';
import { planReload } from '../config/reload.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { StopMode } from '../ipc/messages.js';
import { encodeConfig, type WireConfig } from '../ipc/wire.js';
import { logOutputSettings, type LogOutput } from '../logging/log-output.js';
import { configuredLogger, resolveLogFormat, type Logger } from '../logging/logger.js';
import { pidFilePath, removePidFile } from './pid-file.js';
import { monotonicUsec, type SystemdNotifier } from './systemd-notify.js';

/** How long an immediate stop waits for the workers before killing them. */
const IMMEDIATE_KILL_MS = 2000;

/** The configuration in force and the supervisor's logger for it (both remade on reload). */
export class RunningConfig {
  cfg: PgpoolConfig;
  log: Logger;
  /** Backends Patroni alone names, by the slot they took (docs/behaviour.md#patroni). */
  private readonly discovered = new Map<number, SlotAddress>();

  constructor(
    public loaded: LoadedConfig,
    private readonly logging: { readonly output: LogOutput; readonly debug: boolean },
  ) {
    this.cfg = loaded.config;
    this.log = this.makeLogger();
  }

  get file(): string {
    return this.loaded.file;
  }

  get dir(): string {
    return path.dirname(this.loaded.file);
  }

  get pidFile(): string {
    return pidFilePath(this.cfg, this.dir);
  }

  /** The configuration for workers, log_format = auto decided here, where the output is known. */
  forWorkers(): WireConfig {
    const cfg = this.cfg;
    return encodeConfig({
      ...cfg,
      log_format: resolveLogFormat(cfg.log_format, cfg.logging_collector, process.stderr.isTTY === true),
    });
  }

  /** Backends found by discovery take these slots in the running configuration. */
  addBackends(slots: readonly SlotAddress[]): void {
    for (const s of slots) this.discovered.set(s.id, s);
    this.cfg = withBackends(this.cfg, slots);
    this.loaded = { ...this.loaded, config: this.cfg };
  }

  /** Reads the file again; returns the parameters that changed now, or undefined when it has errors. */
  reload(): { changed: readonly string[]; needRestart: readonly string[] } | undefined {
    const next = loadConfig(this.loaded.file);
    const errors = next.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      for (const d of errors) this.log.warn(formatDiagnostic(d));
      this.log.warn('configuration not reloaded: the running configuration is kept');
      return undefined;
    }
    // Discovered slots stay, unless the file now names the slot itself.
    for (const id of this.discovered.keys())
      if ((next.config.backend_port.nodes.get(id) ?? 0) > 0) this.discovered.delete(id);
    const plan = planReload(this.cfg, { ...next, config: withBackends(next.config, [...this.discovered.values()]) });
    this.cfg = plan.config;
    this.loaded = { ...next, config: plan.config };
    this.logging.output.configure(logOutputSettings(this.cfg, this.dir));
    this.log = this.makeLogger();
    return plan;
  }

  private makeLogger(): Logger {
    return configuredLogger('pgpool-ts', this.cfg, this.logging.output.write, this.logging.debug);
  }
}

export interface LifecycleDeps {
  readonly running: RunningConfig;
  readonly systemd: SystemdNotifier;
  readonly output: LogOutput;
  status(): string;
  /** The configuration changed: workers and the node table follow. */
  reloaded(): void;
  /** Stop accepting and serving anything new. */
  closeDoors(mode: StopMode): void;
  /** Tell the workers; true when none is running any more. */
  stopWorkers(mode: StopMode): boolean;
  killWorkers(): void;
  exited(code: number): void;
}

export class Lifecycle {
  private stopping: StopMode | undefined;

  constructor(private readonly d: LifecycleDeps) {}

  get stopMode(): StopMode | undefined {
    return this.stopping;
  }

  installSignals(): void {
    process.on('SIGTERM', () => this.shutdown('smart'));
    process.on('SIGINT', () => this.shutdown('fast'));
    process.on('SIGQUIT', () => this.shutdown('immediate'));
    process.on('SIGHUP', () => this.reload());
  }

  reload(): void {
    const { running, systemd } = this.d;
    // A log file moved away (logrotate) is reopened under its name before anything is logged.
    this.d.output.reopen();
    running.log.info('reload config files.');
    void systemd.send({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() });
    try {
      const plan = running.reload();
      if (!plan) return;
      this.d.reloaded();
      if (plan.changed.length > 0) running.log.info({ changed: plan.changed }, 'reloaded parameters');
      for (const name of plan.needRestart)
        running.log.warn(
          `parameter "${name}" changed but takes effect only after a restart; the running value is kept`,
        );
    } finally {
      void systemd.send({ READY: '1', STATUS: this.d.status() });
    }
  }

  shutdown(mode: StopMode): void {
    const log = this.d.running.log;
    if (this.stopping) {
      log.info(`shutdown (${mode}) requested while a ${this.stopping} shutdown is in progress`);
      if (mode !== 'smart' && this.stopping === 'smart') {
        this.stopping = mode;
        this.d.stopWorkers(mode);
      }
      return;
    }
    this.stopping = mode;
    void this.d.systemd.send({ STOPPING: '1', STATUS: `${mode} shutdown in progress` });
    log.info({ mode }, `received ${mode} shutdown request`);
    this.d.closeDoors(mode);
    if (this.d.stopWorkers(mode)) {
      void this.finish();
      return;
    }
    if (mode === 'immediate') setTimeout(() => this.d.killWorkers(), IMMEDIATE_KILL_MS).unref();
  }

  /** The last worker is gone. */
  async finish(): Promise<void> {
    removePidFile(this.d.running.pidFile);
    await this.d.systemd.flush();
    this.d.running.log.info('pgpool-ts is shut down');
    this.d.output.close();
    this.d.exited(0);
  }
}
