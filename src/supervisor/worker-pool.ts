// The worker processes: forked at start, restarted when one dies, each with its stderr
// piped into the supervisor's log output. Sends to one worker or asks all of them and
// collects their answers (ipc/channel.ts).
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Requests } from '../ipc/channel.js';
import type { FromWorker, ToWorker } from '../ipc/messages.js';
import { LineJoiner } from '../logging/log-output.js';
import { SMALL_YOUNG_GENERATION } from '../node-flags.js';

const WORKER_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../worker/worker.js');

/** The workers' V8 flags: the supervisor's plus SMALL_YOUNG_GENERATION, unless NODE_OPTIONS or the command line set a size. */
export function workerExecArgv(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = [...execArgv, nodeOptions].some((a) => a.includes('--max-semi-space-size'));
  return given ? [...execArgv] : [...execArgv, SMALL_YOUNG_GENERATION];
}

/** The messages the pool hands on: answers to its requests and batches it handles itself. */
export type WorkerMessage = Exclude<FromWorker, { t: 'batch' | 'report' | 'metrics' | 'cancel' }>;

export interface WorkerPoolEvents {
  /** The first messages for worker `w` (init, then the node table). */
  init(w: number): ToWorker[];
  message(w: number, m: WorkerMessage, socket?: net.Socket): void;
  /** Worker `w` exited; `proc` is the process that did. */
  exited(w: number, code: number | null, signal: NodeJS.Signals | null): void;
  /** Where the workers' stderr lines go. */
  readonly logLine: (line: string) => void;
}

export class WorkerPool {
  private readonly procs: (ChildProcess | undefined)[];
  private readonly answers = new Requests();

  constructor(
    readonly count: number,
    private readonly events: WorkerPoolEvents,
  ) {
    this.procs = Array.from({ length: count }, () => undefined);
  }

  /** Starts worker `w`; resolves when it said it is ready. */
  start(w: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // The worker's stderr comes here, so its lines reach the same files or syslog as ours.
      const proc = fork(WORKER_SCRIPT, [], {
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        env: { ...process.env, PGPOOL_TS_WORKER: String(w) },
        execArgv: workerExecArgv(),
      });
      const lines = new LineJoiner(this.events.logLine);
      proc.stderr!.on('data', (d: Buffer) => lines.push(d));
      proc.stderr!.on('end', () => lines.flush());
      this.procs[w] = proc;
      const onReady = (m: FromWorker) => {
        if (m.t !== 'ready') return;
        proc.off('message', onReady);
        resolve();
      };
      proc.on('message', onReady);
      proc.on('message', (m: FromWorker, handle?: unknown) => this.dispatch(w, m, handle as net.Socket | undefined));
      proc.once('error', reject);
      proc.once('exit', (code, signal) => {
        if (this.procs[w] !== proc) return;
        this.procs[w] = undefined;
        this.events.exited(w, code, signal);
      });
      for (const m of this.events.init(w)) this.send(w, m);
    });
  }

  private dispatch(w: number, m: FromWorker, socket?: net.Socket): void {
    if (m.t === 'batch') {
      for (const one of m.messages) this.dispatch(w, one);
      return;
    }
    if (m.t === 'report' || m.t === 'metrics' || m.t === 'cancel') {
      this.answers.answer(m.reqId, m);
      return;
    }
    this.events.message(w, m, socket);
  }

  /**
   * Sends to worker `w`; false only when it cannot be sent at all (no such worker, channel
   * closed). ChildProcess#send's own false means "queued behind earlier messages", not
   * "failed": the message and its socket still go out, so it must not be treated as lost.
   * A failure reported later comes through `onFail`.
   */
  send(
    w: number,
    m: ToWorker,
    socket?: net.Socket,
    onFail?: (e: Error) => void,
    /** The message (and its handle) left this process. */
    onSent?: () => void,
  ): boolean {
    const proc = this.procs[w];
    if (!proc?.connected) return false;
    try {
      proc.send(m, socket as net.Socket, {}, (e) => {
        if (e) onFail?.(e);
        else onSent?.();
      });
      return true;
    } catch (e) {
      onFail?.(e as Error);
      return true;
    }
  }

  /** Sends to every running worker. */
  broadcast(m: ToWorker): void {
    for (let w = 0; w < this.count; w++) this.send(w, m);
  }

  /**
   * Sends every running worker a request and collects one answer from each; those that do
   * not answer within `timeoutMs` are left out.
   */
  ask<A extends FromWorker>(request: (reqId: number) => ToWorker, timeoutMs: number): Promise<A[]> {
    return this.answers.ask<A>((reqId) => {
      let asked = 0;
      for (let w = 0; w < this.count; w++) if (this.send(w, request(reqId))) asked++;
      return asked;
    }, timeoutMs);
  }

  /** Sends worker `w` a request; resolves with its answer, or undefined after `timeoutMs`. */
  async askOne<A extends FromWorker>(
    w: number,
    request: (reqId: number) => ToWorker,
    timeoutMs: number,
  ): Promise<A | undefined> {
    const [answer] = await this.answers.ask<A>((reqId) => (this.send(w, request(reqId)) ? 1 : 0), timeoutMs);
    return answer;
  }

  get allStopped(): boolean {
    return this.procs.every((p) => p === undefined);
  }

  kill(signal: NodeJS.Signals): void {
    for (const p of this.procs) p?.kill(signal);
  }
}
