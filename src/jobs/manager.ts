/**
 * The jobs (docs/jobs.md): one runner per configured job, told by every reconcile pass what
 * desired() wants; a runner converges on it. Output goes to RUN_DIR/jobs/NAME.log (never a
 * pipe: a dying daemon must not SIGPIPE its jobs), followed into the daemon's log. Running
 * instances, with the restart_on values they started with, and `uplink job stop` survive a
 * daemon restart in STATE_DIR/jobs.json: the next daemon adopts, it does not restart.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../lazy.js';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { Component } from '../model/component.js';
import type { FileFollow, System } from '../system/system.js';
import { UplinkError } from '../errors.js';
import { JobRunner, type JobEvent, type JobWant, type SavedJob } from './runner.js';

export interface JobManagerDeps {
  config: () => Config;
  system: System;
  bus: EventBus;
  log: Logger;
  onDirty: (why: string) => void;
}

interface SavedJobs {
  version: 1;
  /** Jobs `uplink job stop` stopped. */
  stopped: string[];
  running: Record<string, SavedJob>;
}

/** A job's output file is cut back past this (RUN_DIR is a tmpfs: memory). */
const LOG_MAX_BYTES = 1024 * 1024;

export type JobAction = 'start' | 'stop' | 'restart';

const crypto = builtin<typeof Crypto>('node:crypto');

/**
 * The cgroup (below the daemon's own) that holds one daemon's jobs, one child each: named
 * after the state dir, so several daemons in one cgroup (labs, a second instance) never share.
 */
export function jobsCgroup(stateDir: string): string {
  return `uplinkd-jobs-${crypto().createHash('sha256').update(stateDir).digest('hex').slice(0, 10)}`;
}

export class JobManager implements Component {
  readonly name = 'jobs';
  private readonly runners = new Map<string, JobRunner>();
  private readonly follows = new Map<string, FileFollow>();
  private saving = Promise.resolve();
  /** After stop(): the state file is final (a teardown removes it). */
  private closed = false;
  private lastSaved?: SavedJobs;
  /** RUN_DIR/jobs exists (made at start, or when a reload brings the first job). */
  private dirReady = false;
  private makingDir?: Promise<void>;

  constructor(private readonly d: JobManagerDeps) {}

  private get file(): string {
    return join(this.d.config().control.state_dir, 'jobs.json');
  }

  private logFile(name: string): string {
    return join(this.d.config().control.run_dir, 'jobs', `${name}.log`);
  }

  async start(): Promise<void> {
    const saved = await this.load();
    if (Object.keys(this.d.config().jobs).length) await this.makeDir();
    this.sync();
    for (const [name, r] of this.runners) {
      if (saved?.stopped.includes(name)) r.adminStopped = true;
      const s = saved?.running[name];
      if (s && !r.adopt(s)) this.lastInstanceGone(name, s);
    }
    // Instances of jobs the config no longer has: adopted only to be stopped, not orphaned.
    for (const [name, s] of Object.entries(saved?.running ?? {})) {
      if (this.runners.has(name)) continue;
      const p = this.d.system.adopt(s.pid, {
        startTime: s.startTime,
        ...(s.cgroup !== undefined ? { cgroup: s.cgroup } : {}),
      });
      if (!p) {
        this.lastInstanceGone(name, s);
        continue;
      }
      this.d.log.info({ job: name, pid: s.pid }, `job ${name} is no longer configured: stopping its instance`);
      void p.stop({ graceMs: 10_000 });
    }
  }

  /** Its main process died while no daemon watched: what else it left in its cgroup goes too. */
  private lastInstanceGone(name: string, s: SavedJob): void {
    this.d.log.info({ job: name, pid: s.pid }, `job ${name}: its last instance is gone`);
    if (s.cgroup !== undefined) void this.d.system.endCgroup(s.cgroup);
  }

  /** A daemon stop leaves the jobs running (the next daemon adopts them). */
  async stop(): Promise<void> {
    for (const r of this.runners.values()) r.close();
    for (const f of this.follows.values()) f.close();
    this.follows.clear();
    this.persist();
    this.closed = true;
    await this.saving;
  }

  /** `uplink quit --teardown`: every job is stopped, whole process group. */
  async teardown(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop('teardown')));
    await this.saving;
    await this.d.system.store.remove(this.file);
  }

  /** Which jobs run now (job.NAME.running). */
  running(): ReadonlyMap<string, boolean> {
    return new Map([...this.runners].map(([n, r]) => [n, r.running]));
  }

  /** One reconcile pass: each runner converges on what desired() wants. */
  ensure(wants: ReadonlyMap<string, JobWant>, now: number): void {
    this.sync();
    if (!this.dirReady) {
      if (this.runners.size) void this.makeDir().then(() => this.d.onDirty('jobs: output directory ready'));
      return;
    }
    for (const [name, r] of this.runners) {
      const want = wants.get(name);
      if (want) r.ensure(want, now);
    }
  }

  private makeDir(): Promise<void> {
    const run = this.d.config().control.run_dir;
    // RUN_DIR is shared with the control socket: made 0755 if missing, never tightened.
    this.makingDir ??= this.d.system.store
      .ensureDir(run, { shared: true })
      .then(() => this.d.system.store.ensureDir(join(run, 'jobs')))
      .then(
        () => {
          this.dirReady = true;
        },
        (e: unknown) => {
          this.makingDir = undefined;
          this.d.log.error({ err: e }, 'cannot create the jobs output directory; jobs wait');
        },
      );
    return this.makingDir;
  }

  admin(action: JobAction, name: string): string {
    const r = this.runners.get(name);
    if (!r)
      throw new UplinkError(
        'UNKNOWN_JOB',
        `no job named "${name}"`,
        `configured jobs: ${[...this.runners.keys()].join(', ') || 'none'}`,
      );
    r.admin(action);
    this.persist();
    this.d.onDirty(`job ${action} ${name}`);
    return action === 'stop'
      ? `job ${name} stopped; it stays stopped until \`uplink job start ${name}\``
      : `job ${name}: ${action}`;
  }

  /** Jobs `uplink job stop` holds stopped (a confirmed apply restores them on rollback). */
  stoppedJobs(): string[] {
    return [...this.runners].filter(([, r]) => r.adminStopped).map(([n]) => n);
  }

  restoreStopped(names: readonly string[]): void {
    for (const [name, r] of this.runners) {
      if (names.includes(name) === r.adminStopped) continue;
      r.admin(names.includes(name) ? 'stop' : 'start');
    }
    this.persist();
  }

  view() {
    return [...this.runners].map(([name, r]) => ({
      name,
      state: r.state,
      ...(r.pid !== undefined ? { pid: r.pid } : {}),
      ...(r.cgroup !== undefined ? { cgroup: r.cgroup } : {}),
      since: new Date(r.since).toISOString(),
      restarts: r.restarts,
      ...(r.lastExit ? { lastExit: r.lastExit } : {}),
      why: r.why,
      log: this.logFile(name),
    }));
  }

  /** Runners for the configured jobs: new ones made, removed ones stopped, changed ones reconfigured. */
  /** The runners for the config now (also called by every pass). */
  syncConfig(): void {
    this.sync();
  }

  private sync(): void {
    const jobs = this.d.config().jobs;
    for (const [name, r] of this.runners) {
      if (Object.hasOwn(jobs, name)) continue;
      this.runners.delete(name);
      this.follows.get(name)?.close();
      this.follows.delete(name);
      void r.stop('removed from the config').finally(() => r.close());
    }
    for (const [name, cfg] of Object.entries(jobs)) {
      const r = this.runners.get(name);
      if (r) {
        if (!isDeepStrictEqual(r.cfg, cfg)) r.reconfigure(cfg);
        continue;
      }
      this.runners.set(
        name,
        new JobRunner({
          name,
          cfg,
          system: this.d.system,
          logFile: this.logFile(name),
          cgroup: `${jobsCgroup(this.d.config().control.state_dir)}/${name}`,
          log: this.d.log,
          onChange: (e) => this.changed(e),
        }),
      );
      this.follow(name);
    }
  }

  private follow(name: string): void {
    const log = this.d.log.child({ job: name });
    this.follows.set(
      name,
      this.d.system.followFile(
        this.logFile(name),
        (lines) => {
          for (const line of lines) if (line) log.info({ output: line }, `job ${name}: ${line}`);
        },
        { maxBytes: LOG_MAX_BYTES },
      ),
    );
  }

  private changed(e: JobEvent): void {
    this.d.bus.publish({ type: 'job', name: e.name, event: e.event, message: e.message });
    this.persist();
    this.d.onDirty(`job ${e.name}: ${e.event}`);
  }

  private async load(): Promise<SavedJobs | undefined> {
    const text = await this.d.system.store.read(this.file);
    if (!text) return undefined;
    try {
      const s = JSON.parse(text) as SavedJobs;
      if (s?.version !== 1 || !Array.isArray(s.stopped) || typeof s.running !== 'object' || s.running === null)
        throw new Error('not a jobs state file');
      const int = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
      // An entry without a start time could adopt a reused pid: dropped.
      const running = Object.fromEntries(Object.entries(s.running).filter(([, j]) => int(j?.pid) && int(j?.startTime)));
      return { version: 1, stopped: s.stopped.filter((n) => typeof n === 'string'), running };
    } catch {
      this.d.log.warn({ file: this.file }, 'jobs state file is unreadable; starting without it');
      return undefined;
    }
  }

  private persist(): void {
    if (this.closed) return;
    const s: SavedJobs = { version: 1, stopped: [], running: {} };
    for (const [name, r] of this.runners) {
      if (r.adminStopped) s.stopped.push(name);
      const run = r.saved();
      if (run) s.running[name] = run;
    }
    if (isDeepStrictEqual(s, this.lastSaved)) return;
    this.lastSaved = s;
    // Nothing to keep (no running instance, none held stopped): no file, rather than an empty one.
    const empty = !s.stopped.length && !Object.keys(s.running).length;
    this.saving = this.saving
      .then(() =>
        empty
          ? this.d.system.store.remove(this.file)
          : this.d.system.store.write(this.file, `${JSON.stringify(s, null, 2)}\n`),
      )
      .catch((e: unknown) => this.d.log.error({ err: e, file: this.file }, 'cannot write the jobs state file'));
  }
}
