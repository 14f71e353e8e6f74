// sd_notify for Type=notify units. Node cannot send a unix datagram itself, so the
// messages go through systemd-notify (the unit sets NotifyAccess=all for it); nothing
// happens when NOTIFY_SOCKET is unset. Messages are sent one after another, in order.
import { execFile } from 'node:child_process';

export type NotifyRunner = (args: string[]) => Promise<void>;

const runSystemdNotify: NotifyRunner = (args) =>
  new Promise((resolve) => {
    execFile('systemd-notify', args, { timeout: 5000 }, () => resolve());
  });

export class SystemdNotifier {
  private chain: Promise<void> = Promise.resolve();
  private lastStatus = '';

  constructor(
    private readonly socket: string | undefined,
    private readonly run: NotifyRunner = runSystemdNotify,
    private readonly mainPid = process.pid,
  ) {}

  get enabled(): boolean {
    return this.socket !== undefined && this.socket !== '';
  }

  /** Sends VARIABLE=VALUE assignments (READY=1, STATUS=…, RELOADING=1, STOPPING=1). */
  send(fields: Readonly<Record<string, string>>): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const args = [`--pid=${this.mainPid}`, ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)];
    this.chain = this.chain.then(() => this.run(args));
    return this.chain;
  }

  /** STATUS=…, only when it changed. */
  status(text: string): void {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    void this.send({ STATUS: text });
  }

  /** Waits for every message sent so far. */
  flush(): Promise<void> {
    return this.chain;
  }
}

export function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/** The STATUS line: what an operator wants to see in `systemctl status`. */
export function statusLine(children: number, busy: number, waiting: number): string {
  return `children: ${children} (${busy} busy, ${children - busy} idle), clients waiting: ${waiting}`;
}
