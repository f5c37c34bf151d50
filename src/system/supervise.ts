/**
 * Process supervisor: one run of one command (an uplink's `connect`, later a job), in its own
 * process group, surviving daemon restarts (docs/architecture.md, principle 8: hitless restarts).
 *
 * - `start` spawns `/bin/sh -c COMMAND` detached (pgid = pid) and unref'd, with output
 *   appended to a log file we open — never a pipe, so a dying daemon cannot SIGPIPE it.
 * - `adopt` takes over a process a previous daemon left running (pid + start time from the
 *   state file); its exit is noticed by polling /proc, since it is not our child.
 * - When the main process dies by itself, the rest of its process group is killed (SIGTERM,
 *   then SIGKILL after the grace) before `exited` resolves: nothing of a dead run lingers
 *   when the next one starts.
 * - `stop` runs `disconnect` (bounded), then SIGTERM to the group, SIGKILL after the grace.
 *
 * Containment: with `cgroup` (jobs, where a writable cgroup v2 hierarchy exists) the run is
 * born in its own cgroup (supervise/cgroup.ts): everything it forks, even what daemonizes, is
 * waited for and killed (cgroup.kill). Otherwise we track the process GROUP: a child's
 * children stay in it unless they call setsid/setpgid (`openvpn --daemon`, `pppd` without
 * `nodetach`); those escape, are neither waited for nor killed. We never kill by name or
 * pattern, only by the pid / pgid / cgroup we started or adopted. The pgid number cannot be
 * reused while any member (even a zombie) exists; we check the group is non-empty right
 * before signalling it.
 */
import type { Logger } from 'pino';
import {
  isDead,
  processAlive,
  processGroupAlive,
  readProcStat,
  signalGroup,
  signalPid,
  validPid,
} from './supervise/proc.js';
import { keepAlive, runDisconnect, startProcess, type Started, waitUntil } from './supervise/run.js';
import {
  CgroupEntryError,
  cgroupOf,
  cgroupPopulated,
  createCgroup,
  removeCgroup,
  signalCgroup,
  spawnInCgroup,
  validCgroupName,
} from './supervise/cgroup.js';

export { processGroupAlive } from './supervise/proc.js';

export interface SuperviseOptions {
  /** Run via /bin/sh -c (or, with `argv`, only shown in logs). */
  command: string;
  /** Run this program with these arguments directly, without a shell. */
  argv?: string[];
  /** Merged over process.env (also for the `disconnect` command). */
  env?: Record<string, string>;
  /** stdout+stderr appended here (opened by us, passed as the child's fd); else /dev/null. */
  logFile?: string;
  cwd?: string;
  /** Run as this user and group (names or numbers); default: the daemon's. */
  user?: string;
  group?: string;
  /** SIGTERM→SIGKILL grace when the main process died by itself (default 5000 ms). */
  graceMs?: number;
  /**
   * Start inside this cgroup v2 child of the daemon's own cgroup (made if missing, removed
   * when the run ends); without a writable hierarchy, a process group only (logged).
   */
  cgroup?: string;
}

export interface AdoptOptions {
  /** How often to check whether the adopted process is still alive (default 1000 ms). */
  pollMs?: number;
  /** Start time stored with the pid: adopt only if it matches (else the pid was reused). */
  startTime?: number;
  /** Used for the `disconnect` command and the self-exit grace, as in SuperviseOptions. */
  env?: Record<string, string>;
  logFile?: string;
  cwd?: string;
  graceMs?: number;
  /** The cgroup directory the run was started in (`Supervised.cgroup`); used if the pid is still in it. */
  cgroup?: string;
}

export interface StopOptions {
  /** Run first (via /bin/sh -c), e.g. `poff isp`; bounded by disconnectTimeoutMs. */
  disconnect?: string;
  /** SIGTERM→SIGKILL grace (default: the options' graceMs, else 5000 ms). */
  graceMs?: number;
  /** Default 10000 ms. */
  disconnectTimeoutMs?: number;
}

/** How the main process ended; both null for an adopted process (not our child). */
export type ExitReason = { code: number | null; signal: string | null };

const DEFAULT_GRACE_MS = 5000;
const DEFAULT_DISCONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_POLL_MS = 1000;
/** After SIGKILL, how long to wait for the group's members to vanish before giving up. */
const AFTER_KILL_MS = 2000;

type Settings = Omit<SuperviseOptions, 'command' | 'cgroup'>;

export class Supervised {
  /** Resolves once the main process is gone and the rest of its group is gone or killed. */
  readonly exited: Promise<ExitReason>;
  private readonly mainGone: Promise<ExitReason>;
  private resolveMain!: (r: ExitReason) => void;
  private mainReason: ExitReason | undefined;
  private ending: Promise<void> | undefined;
  private stopping: Promise<ExitReason> | undefined;
  private stopGraceMs: number | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly pid: number,
    /** /proc/PID/stat field 22; store it with the pid to detect pid reuse. */
    readonly startTime: number,
    /** The process group we signal (= pid), or undefined for an adopted non-leader. */
    readonly pgid: number | undefined,
    private readonly adopted: boolean,
    private readonly settings: Settings,
    private readonly log: Logger,
    /** The cgroup directory that contains the run, or undefined (a process group only). */
    readonly cgroup?: string,
  ) {
    this.mainGone = new Promise((resolve) => {
      this.resolveMain = resolve;
    });
    this.exited = this.mainGone.then(async (reason) => {
      await this.endGroup();
      return reason;
    });
  }

  /** Spawn `opts.command` in its own process group; throws UplinkError('SPAWN') if it cannot. */
  static start(opts: SuperviseOptions, log: Logger): Supervised {
    let cgroup = opts.cgroup !== undefined && cgroupsUsable ? makeCgroup(opts.cgroup, log) : undefined;
    let child: Started;
    try {
      child = cgroup ? startInCgroup(cgroup, opts, log) : startProcess(opts.command, opts, log);
    } catch (e) {
      if (cgroup) removeCgroup(cgroup);
      if (!(e instanceof CgroupEntryError)) throw e;
      // The hierarchy is there but will not take us (no delegation): process groups from now on.
      noCgroups(log, e);
      cgroup = undefined;
      child = startProcess(opts.command, opts, log);
    }
    const pid = child.pid;
    // Our unreaped child cannot vanish before the event loop runs: /proc/PID is there (maybe 'Z').
    const startTime = readProcStat(pid)?.startTime ?? 0;
    // argv is this run's alone: a disconnect command runs through the shell.
    const { command: _command, argv: _argv, cgroup: _cgroup, ...settings } = opts;
    const s = new Supervised(pid, startTime, pid, false, settings, log.child({ pid, command: opts.command }), cgroup);
    child.onExit((code, signal) => s.markMainGone({ code, signal }));
    s.log.info({ pgid: pid, startTime, ...(cgroup ? { cgroup } : {}) }, 'process started');
    return s;
  }

  /** Take over a process left by a previous daemon; undefined if it is dead, a zombie or reused. */
  static adopt(pid: number, log: Logger, opts: AdoptOptions = {}): Supervised | undefined {
    if (!validPid(pid) || pid === process.pid) return undefined;
    const st = readProcStat(pid);
    if (!st || isDead(st)) return undefined;
    if (opts.startTime !== undefined && st.startTime !== opts.startTime) {
      log.info({ pid, startTime: st.startTime, expected: opts.startTime }, 'pid was reused; not adopting');
      return undefined;
    }
    const { pollMs = DEFAULT_POLL_MS, startTime: _s, cgroup: saved, ...settings } = opts;
    const leader = st.pgrp === pid;
    // Only the cgroup the process is in now: a stale record must not make us kill another.
    const cgroup = saved !== undefined && cgroupOf(pid) === saved ? saved : undefined;
    if (saved !== undefined && !cgroup)
      log.warn({ pid, cgroup: saved }, 'adopted process is no longer in its cgroup; using its process group');
    const s = new Supervised(pid, st.startTime, leader ? pid : undefined, true, settings, log.child({ pid }), cgroup);
    if (!leader)
      s.log.warn({ pgrp: st.pgrp }, 'adopted process does not lead its process group; only it will be signalled');
    s.pollTimer = setInterval(() => s.mainAlive(), Math.max(10, pollMs));
    s.pollTimer.unref();
    s.log.info({ pgid: s.pgid, startTime: st.startTime }, 'process adopted');
    return s;
  }

  /** Sends `sig` to the main process (checked against its start time); false if it is gone. */
  signal(sig: NodeJS.Signals): boolean {
    return this.mainAlive() && signalPid(this.pid, sig, this.startTime);
  }

  /** The main process is alive (the group may outlive it briefly while being killed). */
  get running(): boolean {
    return this.mainAlive();
  }

  /**
   * Stop: run `disconnect` first if given (until it ends, the main process ends, or its
   * timeout), then SIGTERM the whole group, SIGKILL it after the grace. Resolves when the
   * main process is gone and the group is empty or killed; at once if already exited.
   */
  stop(opts: StopOptions = {}): Promise<ExitReason> {
    if (this.mainReason) return this.exited;
    this.stopping ??= this.doStop(opts);
    return this.stopping;
  }

  private async doStop(opts: StopOptions): Promise<ExitReason> {
    this.stopGraceMs = opts.graceMs;
    const release = keepAlive();
    try {
      if (opts.disconnect !== undefined && this.mainAlive()) {
        this.log.info({ disconnect: opts.disconnect }, 'running disconnect command');
        const { graceMs: _g, ...spawnOpts } = this.settings;
        const timeoutMs = opts.disconnectTimeoutMs ?? DEFAULT_DISCONNECT_TIMEOUT_MS;
        await runDisconnect(opts.disconnect, { ...spawnOpts, timeoutMs }, this.log, this.mainGone);
      }
      await this.endGroup();
      return await this.exited;
    } finally {
      release();
    }
  }

  /** Alive check; for adopted processes also notices (and records) their death. */
  private mainAlive(): boolean {
    if (this.mainReason) return false;
    if (!this.adopted) return true; // our child: the 'exit' event tells us
    if (processAlive(this.pid, this.startTime)) return true;
    this.markMainGone({ code: null, signal: null });
    return false;
  }

  private markMainGone(reason: ExitReason): void {
    if (this.mainReason) return;
    this.mainReason = reason;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.log.info({ ...reason, stopping: this.stopping !== undefined }, 'process exited');
    this.resolveMain(reason);
  }

  private anythingAlive(): boolean {
    const main = this.mainAlive();
    if (this.cgroup && cgroupPopulated(this.cgroup)) return true;
    return (this.pgid !== undefined && processGroupAlive(this.pgid)) || main;
  }

  /** SIGTERM, grace, SIGKILL: to the cgroup, the group, and the main process if it left both. */
  private signalAll(sig: NodeJS.Signals): void {
    if (this.cgroup) signalCgroup(this.cgroup, sig);
    if (this.pgid !== undefined && processGroupAlive(this.pgid)) signalGroup(this.pgid, sig);
    if (!this.mainAlive()) return;
    const st = readProcStat(this.pid);
    if (this.pgid === undefined || (st && st.pgrp !== this.pgid)) signalPid(this.pid, sig, this.startTime);
  }

  /** Kill what is left (once; later callers share the run). Never rejects. */
  private endGroup(): Promise<void> {
    this.ending ??= this.terminate()
      .catch((err: unknown) => this.log.error({ err }, 'killing the process group failed'))
      .finally(async () => {
        const cg = this.cgroup;
        if (cg && !cgroupPopulated(cg) && !(await waitUntil(() => removeCgroup(cg), AFTER_KILL_MS)))
          this.log.warn({ cgroup: cg }, 'cannot remove the empty cgroup');
      });
    return this.ending;
  }

  private async terminate(): Promise<void> {
    if (!this.anythingAlive()) return;
    const graceMs = this.stopGraceMs ?? this.settings.graceMs ?? DEFAULT_GRACE_MS;
    const release = keepAlive();
    try {
      this.log.info(
        { pgid: this.pgid, cgroup: this.cgroup, graceMs, main: this.mainAlive() },
        'sending SIGTERM to the process group',
      );
      this.signalAll('SIGTERM');
      if (await waitUntil(() => !this.anythingAlive(), graceMs)) return;
      this.log.warn({ pgid: this.pgid, graceMs }, 'still running after the grace period; sending SIGKILL');
      this.signalAll('SIGKILL');
      // SIGKILL cannot be refused: the main process goes (unless stuck in the kernel, 'D').
      await waitUntil(() => !this.mainAlive(), Number.POSITIVE_INFINITY);
      if (!(await waitUntil(() => !this.anythingAlive(), AFTER_KILL_MS))) {
        this.log.warn(
          { pgid: this.pgid },
          'process group members survive SIGKILL (uninterruptible?); giving up on them',
        );
      }
    } finally {
      release();
    }
  }
}

/** The run's cgroup, made now; undefined (and a warning, once) where cgroup v2 is not writable. */
function makeCgroup(name: string, log: Logger): string | undefined {
  if (!validCgroupName(name)) {
    log.error({ cgroup: name }, 'not a cgroup name; this run is contained by its process group only');
    return undefined;
  }
  try {
    return createCgroup(name);
  } catch (e) {
    noCgroups(log, e);
    return undefined;
  }
}

/** Spawn inside `dir`; a daemon that could not get back out stops using cgroups (it must never kill its own). */
function startInCgroup(dir: string, opts: SuperviseOptions, log: Logger): Started {
  const { value, home } = spawnInCgroup(dir, () => startProcess(opts.command, opts, log));
  if (!home) {
    cgroupsUsable = false;
    log.error(
      { cgroup: dir },
      'the daemon could not move back to its own cgroup after starting a job; jobs are contained by process group from now on',
    );
  }
  return value;
}

/** Cleared when cgroups turned out unusable: later runs do not try again (and do not warn again). */
let cgroupsUsable = true;
function noCgroups(log: Logger, e: unknown): void {
  if (!cgroupsUsable) return;
  cgroupsUsable = false;
  log.warn(
    { err: e },
    'no writable cgroup v2 hierarchy: jobs are contained by process group only (under systemd: Delegate=yes)',
  );
}
