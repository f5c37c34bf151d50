/**
 * Hooks (docs/hooks.md): the executables in `hooks.dir`, run in name order on an uplink's
 * events with UPLINK IFACE EVENT STATE PREV_STATE ADDRESS GATEWAY in their environment.
 * One FIFO per uplink: at most one event's hooks run and one waits, a newer event replaces the
 * waiting one (stale events are dropped), different uplinks run in parallel. A hook is killed,
 * whole process group, at `hooks.timeout`; a failing or hanging hook blocks nothing else. Hooks
 * are refused unless they and every directory above them are root's and not writable by others.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { DaemonEvent, EventBus } from '../events/bus.js';
import type { Component } from '../model/component.js';
import type { FileFollow, SupervisedProcess, System } from '../system/system.js';
import { after } from '../model/timer.js';
import { argvCommand } from '../jobs/runner.js';
import { hookTriggers, type HookTrigger } from './events.js';

/** What a hook is told about its uplink, looked up when it starts. */
export interface UplinkInfo {
  iface: string;
  state: string;
  address?: string;
  gateway?: string;
}

export interface HooksDeps {
  config: () => Config;
  system: System;
  bus: EventBus;
  log: Logger;
  uplink: (name: string) => UplinkInfo | undefined;
}

interface Queue {
  running?: Promise<void>;
  waiting?: HookTrigger;
}

export class Hooks implements Component {
  readonly name = 'hooks';
  private readonly queues = new Map<string, Queue>();
  private unsubscribe?: () => void;
  private readonly addresses = new Map<string, string | undefined>();
  /** Hooks run so far, and events dropped as stale (status, tests). */
  ran = 0;
  dropped = 0;
  /** Hooks refused the last time their event came (path: why). */
  private readonly refused = new Map<string, string>();
  /** Hooks running now: a daemon stop ends them (no daemon would be left to time them out). */
  private readonly live = new Set<SupervisedProcess>();
  private stopped = false;
  private follow?: FileFollow;

  constructor(private readonly d: HooksDeps) {}

  async start(): Promise<void> {
    // The hooks' output file lives there (a tmpfs). RUN_DIR itself is shared with the control
    // socket's default: made 0755 if missing, never tightened (group members reach the socket).
    const run = this.d.config().control.run_dir;
    await this.d.system.store.ensureDir(run, { shared: true });
    await this.d.system.store.ensureDir(join(run, 'hooks'));
    // Their output goes to the log, and the file is cut back (RUN_DIR is memory). Read only
    // while a hook runs (and once more when the last ends): an idle daemon does not poll it.
    const log = this.d.log.child({ output: 'hooks' });
    this.follow = this.d.system.followFile(
      join(run, 'hooks', 'hooks.log'),
      (lines) => {
        for (const l of lines) log.info(`hook: ${l}`);
      },
      { maxBytes: 1024 * 1024, paused: true },
    );
    this.unsubscribe = this.d.bus.subscribe((e) => this.onEvent(e));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.follow?.close();
    for (const q of this.queues.values()) q.waiting = undefined;
    if (this.live.size) this.d.log.info({ hooks: this.live.size }, 'stopping: ending the hooks still running');
    await Promise.all([...this.live].map((p) => p.stop({ graceMs: 1000 })));
    await Promise.all([...this.queues.values()].map((q) => q.running));
  }

  /** After a reconcile pass: an uplink whose address changed gets an `address` event. */
  addressesNow(now: ReadonlyMap<string, string | undefined>): void {
    for (const [name, address] of now) {
      const seen = this.addresses.has(name);
      const before = this.addresses.get(name);
      this.addresses.set(name, address);
      if (seen && before !== address && address !== undefined) this.enqueue({ uplink: name, event: 'address' });
    }
  }

  private onEvent(e: DaemonEvent): void {
    if (e.type === 'hook') return;
    for (const t of hookTriggers(e)) this.enqueue(t);
  }

  private enqueue(t: HookTrigger): void {
    if (!Object.hasOwn(this.d.config().uplinks, t.uplink)) return;
    const q = this.queues.get(t.uplink) ?? this.queues.set(t.uplink, {}).get(t.uplink)!;
    if (q.running) {
      if (q.waiting) this.dropped++;
      q.waiting = t;
      return;
    }
    this.run(q, t);
  }

  private run(q: Queue, t: HookTrigger): void {
    q.running = this.runAll(t)
      .catch((e: unknown) =>
        this.d.log.error({ err: e, uplink: t.uplink, event: t.event }, 'hooks: a run failed (a bug)'),
      )
      .finally(() => {
        q.running = undefined;
        const next = q.waiting;
        q.waiting = undefined;
        if (next) this.run(q, next);
      });
  }

  /** Every hook for one event, in name order, one after the other; then the pppd-style ones. */
  private async runAll(t: HookTrigger): Promise<void> {
    const cfg = this.d.config();
    const ppp = t.event === 'up' ? cfg.hooks.ip_up_dir : t.event === 'down' ? cfg.hooks.ip_down_dir : undefined;
    const files = this.d.system.hookFiles(cfg.hooks.dir);
    const pppFiles = ppp ? this.d.system.hookFiles(ppp) : [];
    if (!files.length && !pppFiles.length) return;
    const u = this.d.uplink(t.uplink);
    const env: Record<string, string> = {
      UPLINK: t.uplink,
      IFACE: u?.iface ?? cfg.uplinks[t.uplink]?.interface ?? '',
      EVENT: t.event,
      STATE: t.state ?? u?.state ?? '',
      PREV_STATE: t.prev ?? '',
      ADDRESS: u?.address ?? '',
      GATEWAY: u?.gateway ?? '',
    };
    for (const f of files) {
      if (this.stopped) return;
      if (f.problem) {
        if (this.refused.get(f.path) !== f.problem) this.d.log.error({ hook: f.path }, `hook not run: ${f.problem}`);
        this.refused.set(f.path, f.problem);
        this.publish(t, f.path, false, f.problem);
        continue;
      }
      this.refused.delete(f.path);
      await this.runOne(f.path, [t.event], t, env, cfg.hooks.timeout, join(cfg.control.run_dir, 'hooks', 'hooks.log'));
    }
    // pppd's arguments: interface, tty, speed, local address, remote address, ipparam.
    const args = [env.IFACE!, '', '0', env.ADDRESS!, env.GATEWAY!, t.uplink];
    for (const f of pppFiles) {
      if (this.stopped) return;
      if (f.problem) {
        this.publish(t, f.path, false, f.problem);
        continue;
      }
      await this.runOne(f.path, args, t, env, cfg.hooks.timeout, join(cfg.control.run_dir, 'hooks', 'hooks.log'));
    }
  }

  private async runOne(
    path: string,
    args: string[],
    t: HookTrigger,
    env: Record<string, string>,
    timeoutMs: number,
    logFile: string,
  ) {
    this.ran++;
    let p: SupervisedProcess;
    try {
      p = this.d.system.spawn({
        command: argvCommand([path, ...args]),
        argv: [path, ...args],
        env,
        logFile,
        cwd: '/',
        graceMs: 1000,
      });
    } catch (e) {
      this.d.log.error({ hook: path, uplink: t.uplink, event: t.event }, `hook not run: ${(e as Error).message}`);
      this.publish(t, path, false, (e as Error).message);
      return;
    }
    this.live.add(p);
    this.follow?.resume();
    let timedOut = false;
    const timer = after(timeoutMs, () => {
      timedOut = true;
      void p.stop({ graceMs: 1000 });
    });
    const r = await p.exited;
    timer.clear();
    this.live.delete(p);
    if (!this.live.size) this.follow?.pause();
    const ok = !timedOut && r.code === 0;
    const how = timedOut
      ? `killed after ${Math.round(timeoutMs / 1000)}s (hooks.timeout), with its process group`
      : r.signal
        ? `killed by ${r.signal}`
        : `exited with status ${r.code}`;
    (ok ? this.d.log.debug : this.d.log.warn).call(
      this.d.log,
      { hook: path, uplink: t.uplink, event: t.event },
      `hook ${how}`,
    );
    this.publish(t, path, ok, how);
  }

  /** `uplink status`: how many hooks ran, how many events were dropped as stale, what is refused. */
  view() {
    return {
      dir: this.d.config().hooks.dir,
      ran: this.ran,
      dropped: this.dropped,
      running: [...this.queues].filter(([, q]) => q.running).map(([n]) => n),
      refused: [...this.refused].map(([path, problem]) => ({ path, problem })),
    };
  }

  private publish(t: HookTrigger, hook: string, ok: boolean, message: string): void {
    this.d.bus.publish({ type: 'hook', uplink: t.uplink, event: t.event, hook, ok, message });
  }
}
