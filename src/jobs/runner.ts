/**
 * One job's supervisor (docs/jobs.md). Level-triggered: `ensure(want)` runs on every reconcile
 * pass with whether the job should run now, and the runner converges on it — a second "up"
 * never starts a second copy, a missed event cannot leave it wrong. Within one true-period of
 * its condition the restart policy applies (exponential backoff, a crash-loop limit that marks
 * it failed); a new false→true period starts it again. `restart_on` values it started with are
 * kept: a changed value (not "none") restarts it, outside the crash-loop count.
 */
import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { JobConfig } from '../config/schema.js';
import { JOB_RESTART_KEYS } from '../config/schema-jobs.js';
import type { ExitReason, SupervisedProcess, SuperviseOptions, System } from '../system/system.js';
import { after, type Timer } from '../model/timer.js';
import type { JobWant } from './desired.js';

export type JobState = 'waiting' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export type { JobWant } from './desired.js';

export interface SavedJob {
  pid: number;
  startTime: number;
  /** The restart_on values the instance started with. */
  values: Record<string, string>;
  /** The cgroup directory it runs in (where cgroup v2 is writable). */
  cgroup?: string;
}

export interface JobRunnerOptions {
  name: string;
  cfg: JobConfig;
  system: Pick<System, 'spawn' | 'adopt' | 'programProblem'>;
  logFile: string;
  /** Its cgroup, relative to the daemon's (the System falls back to a process group without one). */
  cgroup: string;
  log: Logger;
  /** Started, exited, stopped, failed: the loop looks again (job.NAME.running may have changed). */
  onChange: (event: JobEvent) => void;
  /** The clock the reconcile loop's `now` comes from (default Date.now). */
  clock?: () => number;
}

export interface JobEvent {
  name: string;
  event: 'start' | 'exit' | 'stop' | 'restart' | 'failed' | 'adopt';
  message: string;
}

/** A run shorter than this that exits 0 looks like a command that daemonized. */
const DAEMONIZED_MS = 1000;

/** Quotes an argument list for /bin/sh -c: `exec 'openvpn' '--config' 'a b'`. */
export function argvCommand(argv: string[]): string {
  return `exec ${argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')}`;
}

export class JobRunner {
  state: JobState = 'waiting';
  since = Date.now();
  why = 'not evaluated yet';
  lastExit?: string;
  failedReason?: string;
  /** `uplink job stop`: stays stopped until `job start` (also across daemon restarts). */
  adminStopped = false;
  restarts = 0;
  private proc?: SupervisedProcess;
  private startedAt = 0;
  private values: Record<string, string> = {};
  /** Starts within the crash-loop window. */
  private recent: number[] = [];
  private delayMs: number;
  private quickExits = 0;
  private nextStartAt?: number;
  private timer?: Timer;
  private stopping?: Promise<unknown>;
  /** The restart policy said no more in this true-period (never, or on-failure after a clean exit). */
  private doneThisPeriod = false;
  private inPeriod = false;
  /** The next start follows a restart_on change or the admin: not a crash, not counted. */
  private uncounted = false;

  constructor(private o: JobRunnerOptions) {
    this.delayMs = o.cfg.restart_delay;
  }

  get cfg(): JobConfig {
    return this.o.cfg;
  }

  get running(): boolean {
    return !!this.proc?.running;
  }

  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }

  /** The running instance's cgroup directory; undefined when it has none (a process group only). */
  get cgroup(): string | undefined {
    return this.proc?.running ? this.proc.cgroup : undefined;
  }

  /** What the state file keeps of a running instance. */
  saved(): SavedJob | undefined {
    const p = this.proc;
    return p?.running
      ? { pid: p.pid, startTime: p.startTime, values: this.values, ...(p.cgroup ? { cgroup: p.cgroup } : {}) }
      : undefined;
  }

  /**
   * A new config; a failed job may try again. A running instance started with another
   * command, environment, user or directory restarts (not counted as a crash); other
   * settings apply as they are.
   */
  reconfigure(cfg: JobConfig): void {
    const old = this.o.cfg;
    this.o = { ...this.o, cfg };
    if (this.running && !this.stopping && JOB_RESTART_KEYS.some((k) => !isDeepStrictEqual(old[k], cfg[k]))) {
      this.uncounted = true;
      void this.stop('its config changed', 'restart');
    }
    this.failedReason = undefined;
    if (this.state === 'failed') this.set('waiting');
    this.recent = [];
    this.delayMs = cfg.restart_delay;
  }

  /** Takes over the instance a previous daemon left running (same pid and start time). */
  adopt(s: SavedJob): boolean {
    const p = this.o.system.adopt(s.pid, {
      startTime: s.startTime,
      logFile: this.o.logFile,
      graceMs: this.o.cfg.stop_timeout,
      ...(s.cgroup !== undefined ? { cgroup: s.cgroup } : {}),
    });
    if (!p) return false;
    this.watch(p, s.values, this.now());
    this.emit('adopt', `adopted pid ${p.pid}`);
    return true;
  }

  /** `uplink job start|stop|restart`. */
  admin(action: 'start' | 'stop' | 'restart'): void {
    if (action === 'stop') {
      this.adminStopped = true;
      return;
    }
    this.adminStopped = false;
    this.failedReason = undefined;
    this.recent = [];
    this.doneThisPeriod = false;
    this.nextStartAt = undefined;
    if (this.state === 'failed') this.set('waiting');
    if (action === 'restart' && this.running) {
      this.uncounted = true;
      void this.stop('restart by the admin', 'restart');
    }
  }

  ensure(want: JobWant, now: number): void {
    if (this.stopping) return;
    if (this.adminStopped || !want.run || this.failedReason) {
      this.why = this.adminStopped
        ? 'stopped by the admin'
        : this.failedReason
          ? `failed: ${this.failedReason}`
          : want.why;
      if (!want.run && !this.adminStopped) this.endPeriod();
      if (this.running) void this.stop(this.why, 'stop');
      else if (!this.failedReason) this.set(this.adminStopped ? 'stopped' : 'waiting');
      return;
    }
    this.why = want.why;
    this.inPeriod = true;
    // Until the last run's whole process group is gone, nothing new starts.
    if (this.proc) return this.running ? this.restartOnChange(want) : undefined;
    if (this.doneThisPeriod) return;
    if (this.nextStartAt !== undefined && now < this.nextStartAt) return this.arm(this.nextStartAt - now);
    this.start(want, now);
  }

  /** Stops the instance (SIGTERM to its group, SIGKILL after stop_timeout). */
  async stop(why: string, event: 'stop' | 'restart' = 'stop'): Promise<void> {
    const p = this.proc;
    if (!p?.running || this.stopping) return void (await this.stopping);
    this.set('stopping');
    this.emit(event, `stopping pid ${p.pid}: ${why}`);
    this.stopping = p.stop({ graceMs: this.o.cfg.stop_timeout });
    await this.stopping;
  }

  close(): void {
    this.timer?.clear();
  }

  private endPeriod(): void {
    if (!this.inPeriod) return;
    this.inPeriod = false;
    this.doneThisPeriod = false;
    this.recent = [];
    this.delayMs = this.o.cfg.restart_delay;
    this.nextStartAt = undefined;
  }

  private restartOnChange(want: JobWant): void {
    // A key the instance did not start with (added by a reload, or an adopted instance's) is
    // taken as it is now: no restart for a value nobody saw change.
    for (const [k, v] of Object.entries(want.values)) if (!Object.hasOwn(this.values, k)) this.values[k] = v;
    const changed = Object.entries(want.values).filter(([k, v]) => v !== 'none' && this.values[k] !== v);
    if (!changed.length) return;
    const what = changed.map(([k, v]) => `${k} ${this.values[k] ?? 'none'} → ${v}`).join(', ');
    // Not a crash: the next start is at once and is not counted.
    this.uncounted = true;
    void this.stop(`restart_on: ${what}`, 'restart').then(() =>
      this.o.onChange({ name: this.o.name, event: 'restart', message: what }),
    );
  }

  private start(want: JobWant, now: number): void {
    const { cfg } = this.o;
    const command = typeof cfg.run === 'string' ? cfg.run : argvCommand(cfg.run);
    const opts: SuperviseOptions = {
      command,
      ...(typeof cfg.run === 'string' ? {} : { argv: cfg.run }),
      env: { ...want.env, ...cfg.env, JOB: this.o.name },
      logFile: this.o.logFile,
      cwd: cfg.cwd ?? '/',
      graceMs: cfg.stop_timeout,
      // One leaf per run: an old instance still being stopped must never share (and kill) a new one's.
      cgroup: `${this.o.cgroup}/${Date.now().toString(36)}`,
      ...(cfg.user !== undefined ? { user: cfg.user } : {}),
      ...(cfg.group !== undefined ? { group: cfg.group } : {}),
    };
    // Never run as root what others could have replaced.
    const refused = this.o.system.programProblem(programOf(cfg.run), { cwd: cfg.cwd ?? '/', path: cfg.env?.PATH });
    if (refused) {
      this.failedReason = `refused: ${refused}`;
      this.set('failed');
      this.emit('failed', this.failedReason);
      return;
    }
    this.set('starting');
    // Counted before the spawn: one that cannot start (a bad user, a missing cwd) must still
    // reach the crash-loop limit.
    if (!this.uncounted) this.recent.push(now);
    this.uncounted = false;
    let p: SupervisedProcess;
    try {
      p = this.o.system.spawn(opts);
    } catch (e) {
      this.crashed(now, `could not start: ${(e as Error).message}`, false);
      return;
    }
    this.watch(p, want.values, now);
    this.emit('start', `started pid ${p.pid}`);
  }

  private watch(p: SupervisedProcess, values: Record<string, string>, now: number): void {
    this.proc = p;
    this.values = { ...values };
    this.startedAt = now;
    this.set('running');
    void p.exited.then((r) => this.exited(p, r));
  }

  private exited(p: SupervisedProcess, r: ExitReason): void {
    if (this.proc !== p) return;
    const now = this.now();
    const wasStopped = this.stopping !== undefined;
    this.stopping = undefined;
    this.proc = undefined;
    this.lastExit = describeExit(r);
    if (wasStopped) {
      this.set(this.adminStopped ? 'stopped' : 'waiting');
      this.o.onChange({ name: this.o.name, event: 'exit', message: `pid ${p.pid} ${this.lastExit}` });
      return;
    }
    const ranMs = now - this.startedAt;
    const clean = r.code === 0;
    this.quickExits = clean && ranMs < DAEMONIZED_MS ? this.quickExits + 1 : 0;
    if (ranMs > this.o.cfg.max_restart_delay) this.delayMs = this.o.cfg.restart_delay;
    const policy = this.o.cfg.restart;
    if (policy === 'never' || (policy === 'on-failure' && clean)) {
      this.doneThisPeriod = true;
      this.set('stopped');
      this.o.onChange({
        name: this.o.name,
        event: 'exit',
        message: `pid ${p.pid} ${this.lastExit}; not restarted (restart: ${policy})`,
      });
      return;
    }
    this.crashed(now, `pid ${p.pid} ${this.lastExit}`, true);
  }

  /** A death within the period: restart with backoff, or give up (failed) past the crash-loop limit. */
  private crashed(now: number, what: string, exited: boolean): void {
    const { cfg } = this.o;
    this.recent = this.recent.filter((t) => now - t <= cfg.restart_window);
    if (this.recent.length > cfg.max_restarts) {
      const daemonized =
        this.quickExits >= 3
          ? '; it exits at once with status 0 every time: it probably daemonizes — run it in the foreground (e.g. openvpn without --daemon, pppd with nodetach)'
          : '';
      this.timer?.clear();
      this.failedReason = `${this.recent.length} starts within ${Math.round(cfg.restart_window / 1000)}s (max_restarts ${cfg.max_restarts})${daemonized}`;
      this.set('failed');
      this.emit('failed', `${what}; ${this.failedReason}`);
      this.o.onChange({ name: this.o.name, event: 'failed', message: this.failedReason });
      return;
    }
    this.restarts++;
    this.nextStartAt = now + this.delayMs;
    this.o.log.warn({ job: this.o.name, delayMs: this.delayMs }, `${what}; restarting in ${this.delayMs} ms`);
    this.delayMs = Math.min(this.delayMs * 2, cfg.max_restart_delay);
    this.set('waiting');
    this.arm(this.nextStartAt - now);
    if (exited) this.o.onChange({ name: this.o.name, event: 'exit', message: what });
  }

  private arm(ms: number): void {
    this.timer?.clear();
    this.timer = after(Math.max(0, ms), () =>
      this.o.onChange({ name: this.o.name, event: 'restart', message: 'restart delay over' }),
    );
  }

  private set(state: JobState): void {
    if (this.state === state) return;
    this.state = state;
    this.since = Date.now();
  }

  private now(): number {
    return (this.o.clock ?? Date.now)();
  }

  private emit(event: JobEvent['event'], message: string): void {
    this.o.log.info({ job: this.o.name, event }, `job ${this.o.name}: ${message}`);
    this.o.onChange({ name: this.o.name, event, message });
  }
}

/**
 * The program a job runs, for the trust check: an argument list's first entry; a shell line's
 * first word after variable assignments and `exec` (best effort: the shell may still run
 * something else, e.g. `sh /path/script`, whose argument is not checked).
 */
export function programOf(run: string | string[]): string {
  if (typeof run !== 'string') return run[0]!;
  const words = run.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || words[i] === 'exec')) i++;
  return words[i] ?? '';
}

function describeExit(r: ExitReason): string {
  if (r.signal) return `killed by ${r.signal}`;
  if (r.code === null) return 'exited (status unknown: adopted)';
  return `exited with status ${r.code}`;
}
