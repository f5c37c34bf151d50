/**
 * Tells systemd (Type=notify) that we are up, that we are alive (WatchdogSec=), what we are
 * doing (the STATUS= line `systemctl status` shows) and that we are stopping. Made only when
 * $NOTIFY_SOCKET is set; every send is one datagram through `send`, which never throws.
 */
import type { Logger } from 'pino';
import type { Component } from '../model/component.js';

/** Without a watchdog, how often the status text is checked for a change. */
const STATUS_CHECK_MS = 5000;

export interface SystemdNotifierDeps {
  /** Sends one notification (e.g. `(m) => sdNotify(socket, m)`); false when it did not go. */
  send: (msg: string) => boolean;
  /** WATCHDOG=1 every this many ms (half of $WATCHDOG_USEC); none when undefined. */
  watchdogMs?: number;
  /** The one-line status for STATUS=; checked at each tick and sent when it changed. */
  status: () => string;
  log: Logger;
  /** MAINPID= (default: ours). */
  pid?: number;
}

export class SystemdNotifier implements Component {
  readonly name = 'systemd notifier';
  private timer?: NodeJS.Timeout;
  private lastStatus?: string;
  private ready = false;
  private isStopping = false;
  private failing = false;

  constructor(private readonly deps: SystemdNotifierDeps) {}

  async start(): Promise<void> {
    this.lastStatus = this.status();
    this.sendReady();
    const every = this.deps.watchdogMs ?? STATUS_CHECK_MS;
    this.timer = setInterval(() => this.tick(), every).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** STOPPING=1 with the reason as the status; the watchdog keeps going until `stop`. */
  stopping(reason: string): void {
    this.isStopping = true;
    this.lastStatus = `stopping: ${oneLine(reason)}`;
    this.post(`STOPPING=1\nSTATUS=${this.lastStatus}`);
  }

  private sendReady(): void {
    this.ready = this.post(`READY=1\nSTATUS=${this.lastStatus}\nMAINPID=${this.deps.pid ?? process.pid}`);
  }

  private tick(): void {
    // A READY=1 that did not go (the manager busy, its queue full) is sent again: without it
    // systemd would time the start out.
    if (!this.ready && !this.isStopping) {
      this.lastStatus = this.status();
      this.sendReady();
    }
    const lines: string[] = [];
    if (this.deps.watchdogMs !== undefined) lines.push('WATCHDOG=1');
    if (!this.isStopping) {
      const s = this.status();
      if (s !== this.lastStatus) {
        this.lastStatus = s;
        lines.push(`STATUS=${s}`);
      }
    }
    if (lines.length) this.post(lines.join('\n'));
  }

  private status(): string {
    try {
      return oneLine(this.deps.status());
    } catch (e) {
      return `status unavailable: ${oneLine(e instanceof Error ? e.message : String(e))}`;
    }
  }

  /** Sends; logs the first failure of a run of them (warn) and the recovery (info). */
  private post(msg: string): boolean {
    let ok = false;
    try {
      ok = this.deps.send(msg);
    } catch {
      ok = false;
    }
    if (!ok && !this.failing) this.deps.log.warn({ message: msg.split('\n')[0] }, 'systemd notification failed');
    else if (ok && this.failing) this.deps.log.info('systemd notifications delivered again');
    this.failing = !ok;
    return ok;
  }
}

/** STATUS= is one line: a newline would start another assignment. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}
