/**
 * The command driver: supervises an uplink's `connect` command (pppd, openvpn…),
 * notices its death at once, hangs up through `disconnect` then SIGTERM to its
 * process group, and re-dials by the redial policy until it gives up (blocked).
 */
import type { Logger } from 'pino';
import type { UplinkConfig } from '../config/schema.js';
import type { SupervisedProcess, System } from '../system/system.js';
import { gaveUp, nextDialAt, type Hangup } from './redial.js';
import { after, type Timer } from '../model/timer.js';

export interface CommandDriverOptions {
  name: string;
  /** The door: processes are spawned, adopted and signalled only through it. */
  system: Pick<System, 'spawn' | 'adopt'>;
  /** Replaced on reload (see reconfigure). */
  cfg: UplinkConfig;
  logFile?: string;
  env: Record<string, string>;
  log: Logger;
  /** Something changed (process died, a dial started or is due): look again. */
  onChange: (why: string) => void;
  /** `lost`: this dial follows a connection that died or a dial that failed (a re-dial), and what happened. */
  onDial: (attempt: number, lost?: { what: string; at: number }) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

export class CommandDriver {
  private proc?: SupervisedProcess;
  private dialTimer?: Timer;
  private connectTimer?: Timer;
  private wasUp = false;
  private stopping?: Promise<unknown>;
  /** Failed dials in a row: backoff and give-up count these; a good connection resets them. */
  failures = 0;
  /** Every failed dial since start: never reset, what a counter metric needs. */
  failedTotal = 0;
  dials = 0;
  lastDialAt?: number;
  nextDialAt?: number;
  gaveUpReason?: string;
  lastExit?: string;
  /** The last connection or dial that failed, until a dial is asked for afresh (admin, idle). */
  private lost?: { what: string; at: number };

  constructor(private readonly o: CommandDriverOptions) {}

  get running(): boolean {
    return !!this.proc?.running && !this.stopping;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get startTime(): number | undefined {
    return this.proc?.startTime;
  }

  get holdoff(): boolean {
    return this.nextDialAt !== undefined && !this.running;
  }

  /** Re-dial bookkeeping from the state file. */
  restore(d: { failures: number; gaveUp?: string; nextDialAt?: number }): void {
    this.failures = d.failures;
    this.gaveUpReason = d.gaveUp;
    this.nextDialAt = d.nextDialAt;
  }

  /** A connect process left running by the previous daemon. */
  adopt(pid: number, startTime: number): boolean {
    const p = this.o.system.adopt(pid, { startTime });
    if (!p) return false;
    this.watch(p);
    this.o.log.info({ pid }, 'adopted the running connect process');
    return true;
  }

  /** Level-triggered: called on every evaluation with what is wanted now. */
  ensure(want: boolean, now: number, why: Hangup = 'admin'): void {
    if (!want) {
      this.cancelDial();
      if (this.running) void this.hangup(why);
      return;
    }
    // `proc`, not `running`: a connect process whose main has exited stays ours until its exit
    // is handled (its group ended, `exited` resolved). A dial in between would lose what
    // happened (no re-dial notice, no failure counted, no holdoff or backoff).
    if (this.proc || this.stopping || this.gaveUpReason || this.dialTimer) return;
    const at = this.nextDialAt ?? now;
    this.dialTimer = after(at - now, () => this.dial());
  }

  /** A reload changed the uplink: the running connection stays; the next dial uses the new command. */
  reconfigure(cfg: UplinkConfig): void {
    this.o.cfg = cfg;
  }

  markUp(): void {
    this.wasUp = true;
    this.failures = 0;
    this.connectTimer?.clear();
  }

  /** Probes judged the link failed: tear down and re-dial (counts as a failure). */
  probeFailed(): void {
    if (this.running) void this.hangup('probe');
  }

  unblock(): void {
    this.lost = undefined;
    this.gaveUpReason = undefined;
    this.failures = 0;
    this.nextDialAt = undefined;
  }

  async stop(teardown: boolean): Promise<void> {
    this.cancelDial();
    this.connectTimer?.clear();
    // Hitless restart: a stopping daemon leaves the link up unless told to tear down.
    if (teardown && this.proc?.running) await this.hangup('admin');
  }

  private cancelDial(): void {
    this.dialTimer?.clear();
    this.dialTimer = undefined;
  }

  private dial(): void {
    this.dialTimer = undefined;
    this.nextDialAt = undefined;
    this.dials++;
    this.lastDialAt = Date.now();
    this.wasUp = false;
    const attempt = this.failures + 1;
    this.o.log.info({ attempt, command: this.o.cfg.connect }, 'dialing');
    this.o.onDial(attempt, this.lost);
    try {
      this.watch(this.o.system.spawn({ command: this.o.cfg.connect!, env: this.o.env, logFile: this.o.logFile }));
    } catch (e) {
      // Could not even start it (log file, fork): a failed dial, never a crash.
      this.o.log.error({ error: (e as Error).message }, 'cannot start the connect command');
      this.lastExit = `could not start: ${(e as Error).message}`;
      this.afterHangup('peer', this.lastExit);
      this.o.onChange(this.lastExit);
      return;
    }
    const timeout = this.o.cfg.max_connect ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.connectTimer = after(timeout, () => !this.wasUp && void this.hangup('timeout'));
    this.o.onChange('dial started');
  }

  private watch(p: SupervisedProcess): void {
    this.proc = p;
    void p.exited.then((r) => {
      if (this.proc !== p) return;
      this.proc = undefined;
      this.connectTimer?.clear();
      this.lastExit = r.signal ? `killed by ${r.signal}` : `exited with ${r.code}`;
      if (!this.stopping) this.afterHangup('peer', `connect process ${this.lastExit}`);
      this.o.onChange(`connect process ${this.lastExit}`);
    });
  }

  private async hangup(why: Hangup): Promise<void> {
    const p = this.proc;
    if (!p || this.stopping) return;
    this.o.log.info({ why }, 'hanging up');
    this.stopping = p.stop({ disconnect: this.o.cfg.disconnect });
    try {
      await this.stopping;
    } finally {
      this.stopping = undefined;
    }
    // Asked for (admin, idle): no failure, no holdoff; the next dial may start at once.
    if (why !== 'admin' && why !== 'idle') this.afterHangup(why, `hung up (${why})`);
    else this.lost = undefined;
    this.o.onChange(`hung up (${why})`);
  }

  private afterHangup(why: Hangup, what: string): void {
    this.lost = { what, at: Date.now() };
    if (!this.wasUp || why === 'probe' || why === 'timeout') {
      this.failures++;
      this.failedTotal++;
    }
    if (gaveUp(this.o.cfg.redial, this.failures)) {
      this.gaveUpReason = `gave up after ${this.failures} failed dial(s); last: ${what}`;
      this.nextDialAt = undefined;
      return;
    }
    this.nextDialAt = nextDialAt({
      policy: this.o.cfg.redial,
      failures: this.failures,
      hangup: why,
      lastDialAt: this.lastDialAt,
      now: Date.now(),
    });
  }
}
