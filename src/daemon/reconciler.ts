/**
 * The reconcile loop. Events only mark it dirty, with a reason; a burst becomes one run
 * after a short coalescing delay; one run at a time. A run is one pass:
 *
 *   observe   the world snapshot (and the delta since the last run, for the log)
 *   judge     the uplink manager's state machines and selection → verdicts
 *   desire    desired(config, world, verdicts, clock) — pure (reconcile/desired.ts)
 *   apply     the difference, in this order:
 *     1. sysctls (ignore_routes_with_linkdown must be set before routes rely on it)
 *     2. addresses and new or replaced routes — make before break
 *     3. replay: demand uplinks whose selection route just went in get their held packets
 *        now, before anything slower (the firewall spawns nft; the link is usable already:
 *        NAT and the keep-up accounting match uplinks by name)
 *     4. new rules, then deletions of routes and rules no longer wanted (after the first
 *        probe round is judged, so a restarted daemon adopts instead of tearing down)
 *     5. connect commands started or hung up
 *     6. the firewall, beside the loop: route changes never wait for nft
 *     7. conntrack release of SNAT flows, beside the loop (a big table takes a while)
 *
 * A refused op is retried with backoff (reconcile/backoff.ts): its error is logged once with
 * a count, shown in status, and it is retried at once when the world or the desire changes.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { System } from '../system/system.js';
import type { Component } from '../model/component.js';
import { displayCommand, type KernelOp, type RefusedOp } from '../model/ops.js';
import { computeDelta, describeDelta, isEmptyDelta } from '../world/delta.js';
import { emptyWorld, type WorldState } from '../world/state.js';
import type { World } from '../world/world.js';
import { planKernel, type Plan } from '../routing/plan.js';
import type { UplinkManager } from '../uplinks/manager.js';
import type { Firewall } from '../firewall/apply.js';
import { BesideLoop, CONNTRACK_OP, FIREWALL_OP, ROUTED_CONNTRACK_OP } from './beside.js';
import type { EventBus } from '../events/bus.js';
import { Backoff } from '../reconcile/backoff.js';
import type { ReconcileStatus, RunRecord } from '../reconcile/status.js';
import { desired, type Desired } from '../reconcile/desired.js';
import type { JobWant } from '../jobs/desired.js';
import { Reasons } from '../reconcile/reasons.js';
import { after, type Timer } from '../model/timer.js';

export interface ReconcilerDeps {
  system: System;
  world: World;
  manager: UplinkManager;
  firewall?: Firewall;
  bus: EventBus;
  log: Logger;
  config: () => Config;
  /** The jobs: which run now (job.NAME.running), and each pass's desire. */
  jobs?: { running(): ReadonlyMap<string, boolean>; ensure(wants: ReadonlyMap<string, JobWant>, now: number): void };
  /** Demand proxies: which are open (their routes), and replay once routes have switched. */
  demand?: { openProxies(): Map<string, string>; afterApply(routedDevs: ReadonlySet<string>): void };
  coalesceMs?: number;
  /** The first retry after a refused op (doubling up to a ceiling of 30 s). */
  retryMs?: number;
  /** How long start() waits for the first runs to settle (default 5 s). */
  startSettleMs?: number;
  /** After each run, with what it saw (the config warnings follow the world). */
  afterRun?: (world: WorldState, cfg: Config) => void;
}

export class Reconciler implements Component {
  readonly name = 'reconcile loop';
  private timer?: { clear(): void };
  private wakeTimer?: Timer;
  private running?: Promise<void>;
  private again = false;
  private last: WorldState = emptyWorld();
  private judged = false;
  private stopped = true;
  private readonly reasons = new Reasons();
  private backoff!: Backoff;
  private beside!: BesideLoop;
  private lastRun?: RunRecord;
  /** When a held-back failback becomes due (the loop must look again then, not at the next probe round). */
  private failbackAt?: number;
  runs = 0;

  constructor(private readonly d: ReconcilerDeps) {}

  async start(): Promise<void> {
    this.backoff = new Backoff(this.d.retryMs);
    this.beside = new BesideLoop({
      ...this.d,
      backoff: this.backoff,
      cleared: (op) => this.cleared(op),
      markDirty: (why) => this.markDirty(why),
      wake: () => this.scheduleWake(),
    });
    this.stopped = false;
    this.markDirty('start');
    await this.settle(this.d.startSettleMs ?? 5000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    this.wakeTimer?.clear();
    this.timer = undefined;
    await this.running;
    await this.beside.drain();
    // A run that finished while we waited may have armed a wake: a stopped loop never runs again.
    this.wakeTimer?.clear();
  }

  /** After one full probe round has been judged, our unwanted routes and rules may be deleted. */
  setJudged(): void {
    if (this.judged) return;
    this.judged = true;
    this.d.log.info('first probe round judged: objects of ours that are no longer wanted may now be removed');
    this.markDirty('first probe round judged');
  }

  isJudged(): boolean {
    return this.judged;
  }

  /** The first error of the ops that keep failing (status shows them all). */
  get lastError(): string | undefined {
    return this.backoff?.view()[0]?.error;
  }

  status(): ReconcileStatus {
    const iso = (t: number) => new Date(t).toISOString();
    return {
      runs: this.runs,
      ...(this.lastRun ? { last: this.lastRun } : {}),
      failing: (this.backoff?.view() ?? []).map((f) => ({ ...f, since: iso(f.since), nextAt: iso(f.nextAt) })),
    };
  }

  /**
   * `urgent` (a carrier change) skips the coalescing delay: traffic waits on it (a dead
   * link's flows, a dialed link's held packets), and it comes alone, not in a burst.
   */
  markDirty(reason: string, urgent = false): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer && urgent) {
      this.timer.clear();
      this.timer = undefined;
    }
    if (this.timer) return;
    // setTimeout(0) waits at least 1 ms and for the loop's timer phase: urgent runs next turn.
    if (urgent) {
      const i = setImmediate(() => this.run());
      this.timer = { clear: () => clearImmediate(i) };
    } else {
      const t = setTimeout(() => this.run(), this.d.coalesceMs ?? 5);
      this.timer = { clear: () => clearTimeout(t) };
    }
  }

  /**
   * Resolves once no run is pending or in flight, the firewall included (tests, admin commands
   * and start use it), or after `maxMs`: a loop kept busy by probe rounds must not hold up a caller forever.
   */
  async settle(maxMs = Infinity): Promise<void> {
    const end = Date.now() + maxMs;
    while ((this.timer || this.running || this.beside.firewallRun) && Date.now() < end) {
      await Promise.race([
        this.running ?? this.beside.firewallRun ?? new Promise((r) => setTimeout(r, 5)),
        new Promise((r) => setTimeout(r, Math.max(0, Math.min(50, end - Date.now())))),
      ]);
    }
  }

  private run(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const reasons = this.reasons.take();
    this.running = this.once(reasons)
      .catch((e) => this.d.log.error({ err: e }, 'reconcile: run failed (a bug)'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.markDirty('changed during the run');
        }
      });
  }

  private logDelta(now: WorldState): void {
    const delta = computeDelta(this.last, now);
    this.last = now;
    if (!isEmptyDelta({ ...delta, foreignChanged: false })) {
      const summary = describeDelta(delta);
      this.d.log.info({ delta }, `kernel: ${summary}`);
      this.d.bus.publish({ type: 'kernel', summary, delta });
    } else if (delta.foreignChanged) {
      // Foreign counts move all the time on a router with a full table: not an event.
      this.d.log.debug({ foreign: now.foreign }, 'kernel: foreign route counts changed');
    }
  }

  /** The proxies that may carry a route: open, and with their notrack rules applied. */
  private proxies(): Map<string, string> {
    const armed = this.d.firewall?.armedProxies();
    return new Map([...(this.d.demand?.openProxies() ?? [])].filter(([, dev]) => !armed || armed.has(dev)));
  }

  private async once(reasons: string[]): Promise<void> {
    const t0 = performance.now();
    this.runs++;
    const { manager } = this.d;
    const world = this.d.world.snapshot();
    const stamp = this.d.world.stamp;
    this.logDelta(world);
    const cfg = this.d.config();
    const now = Date.now();
    const verdicts = manager.judge(world, now);
    const want = desired(
      cfg,
      world,
      { ...verdicts, proxies: this.proxies(), jobsRunning: this.d.jobs?.running() },
      { now },
    );
    const plan = planKernel({
      ...want.kernel,
      world,
      protocol: cfg.control.kernel.route_protocol,
      judged: this.judged,
    });
    for (const c of plan.conflicts) this.d.log.warn(c);
    // Failures of ops no longer wanted are forgotten (their uplink went, the config changed).
    const wanted = new Set([
      ...plan.ops.map(displayCommand),
      ...want.sysctls.map(sysctlOp),
      FIREWALL_OP,
      ...(want.snatRelease ? [CONNTRACK_OP] : []),
      ...(want.routedRelease ? [ROUTED_CONNTRACK_OP] : []),
    ]);
    this.backoff.retain((op) => wanted.has(op));
    const sysctls = await this.applySysctls(want, now, stamp);
    const { applied, throttled } = await this.applyPlan(plan, want, now, stamp);
    manager.connect(want.connect, now);
    this.d.jobs?.ensure(want.jobs, now);
    this.beside.kickFirewall(want, now, stamp);
    this.beside.releaseSnat(want, now, stamp);
    this.beside.releaseRouted(want, now, stamp);
    if (!this.judged && manager.allJudged()) this.setJudged();
    this.lastRun = {
      at: new Date(now).toISOString(),
      reasons,
      ops: applied.length + sysctls,
      throttled,
      durationMs: Math.round((performance.now() - t0) * 100) / 100,
    };
    if (applied.length) {
      const commands = applied.map(displayCommand);
      const verb = this.d.system.kind === 'dry-run' ? 'would apply' : 'applied';
      this.d.log.info(
        { commands, deferred: plan.deferred.length, reasons },
        `reconcile: ${verb} ${commands.length} change(s)`,
      );
      this.d.bus.publish({ type: 'reconcile', commands, deferred: plan.deferred.length });
    }
    this.failbackAt = manager.nextWakeAt(now);
    this.scheduleWake();
    this.d.afterRun?.(world, cfg);
  }

  /** Step 1. Best effort: a read-only /proc/sys (containers) must not stop routes from being applied. */
  private async applySysctls(want: Desired, now: number, stamp: number): Promise<number> {
    let n = 0;
    for (const { key, value } of want.sysctls) {
      const op = sysctlOp({ key, value });
      if (!this.backoff.allowed(op, now, stamp)) continue;
      try {
        if (await this.d.system.sysctl(key, value)) {
          n++;
          this.d.log.info(`set ${key.replace(/\//g, '.')}=${value}`);
        }
        this.cleared(op);
      } catch (e) {
        if (this.backoff.failed(op, (e as Error).message, now, stamp))
          this.d.log.warn({ error: (e as Error).message }, `cannot ${op}; retrying with backoff`);
      }
    }
    return n;
  }

  /**
   * Steps 2–4. Ops held back by a backoff are left out; a refused op does not stop the others
   * (like `ip -force`). A link whose own selection route is missing gets no replay: its
   * packets would go back into the proxy.
   */
  private async applyPlan(
    plan: Plan,
    want: Desired,
    now: number,
    stamp: number,
  ): Promise<{ applied: KernelOp[]; throttled: number }> {
    const ok = (o: KernelOp) => this.backoff.allowed(displayCommand(o), now, stamp);
    const first = plan.ops.slice(0, plan.routesReady);
    const rest = plan.ops.slice(plan.routesReady);
    const held = plan.ops.filter((o) => !ok(o));
    const refused = await this.applyOps(first.filter(ok), now, stamp);
    const missing = new Set([...held, ...refused].flatMap((o) => ('route' in o && o.route.dev ? [o.route.dev] : [])));
    this.d.demand?.afterApply(new Set(want.selectionDevs.filter((d) => !missing.has(d))));
    refused.push(...(await this.applyOps(rest.filter(ok), now, stamp)));
    const applied = plan.ops.filter((o) => ok(o) && !refused.includes(o));
    return { applied, throttled: held.length };
  }

  /** Applies ops; returns those refused, each failure recorded in the backoff (and logged once per error). */
  private async applyOps(ops: KernelOp[], now: number, stamp: number): Promise<KernelOp[]> {
    if (!ops.length) return [];
    let refused: RefusedOp[] = [];
    try {
      await this.d.system.apply(ops);
    } catch (e) {
      const list = (e as { refused?: RefusedOp[] }).refused;
      refused = list ?? ops.map((op) => ({ op, error: (e as Error).message }));
    }
    const bad = new Set(refused.map((r) => r.op));
    for (const o of ops) if (!bad.has(o)) this.cleared(displayCommand(o));
    for (const r of refused) {
      const op = displayCommand(r.op);
      if (this.backoff.failed(op, r.error, now, stamp)) {
        this.d.log.error(
          { command: op, error: r.error },
          `reconcile: the kernel refused ${op}: ${r.error}; retrying with backoff`,
        );
        this.d.bus.publish({ type: 'reconcile', commands: [op], deferred: 0, error: r.error });
      }
    }
    return refused.map((r) => r.op);
  }

  /** An op that had failed works again: say so once. */
  private cleared(op: string): void {
    const f = this.backoff.cleared(op);
    if (f) this.d.log.info({ op, failures: f.count }, `${op}: works again after ${f.count} failure(s)`);
  }

  /** Wakes the loop at the earliest of these (a failback delay ending, a backoff running out). */
  private scheduleWake(): void {
    const now = Date.now();
    // Past times are not waited for: every op still failing was tried in the last run, or is in flight.
    const times = [this.failbackAt, this.backoff.nextAt(now)].filter((t): t is number => t !== undefined && t > now);
    if (!times.length || this.stopped) return;
    const at = Math.min(...times);
    this.wakeTimer?.clear();
    const why =
      at === this.failbackAt ? 'uplink timer due (failback delay, router solicitation)' : 'retry after backoff';
    this.wakeTimer = after(at - now + 1, () => this.markDirty(why));
  }

  /** The kernel ops a config would cause now, without applying them (`uplink plan`). */
  planFor(cfg: Config): string[] {
    const world = this.d.world.snapshot();
    const verdicts = { ...this.d.manager.verdicts(), proxies: this.proxies() };
    const want = desired(cfg, world, verdicts, { now: Date.now() });
    return planKernel({ ...want.kernel, world, protocol: cfg.control.kernel.route_protocol, judged: true }).ops.map(
      displayCommand,
    );
  }

  /** `quit --teardown`, after stop(): removes every route and rule of ours (never a foreign one). */
  async teardown(): Promise<void> {
    const k = this.d.config().control.kernel;
    const plan = planKernel({
      routes: [],
      rules: [],
      world: this.d.world.snapshot(),
      protocol: k.route_protocol,
      judged: true,
    });
    const commands = plan.ops.map(displayCommand);
    try {
      await this.d.system.apply(plan.ops);
      this.d.log.info({ commands }, `teardown: removed ${commands.length} route(s) and rule(s)`);
    } catch (e) {
      this.d.log.error({ commands, error: (e as Error).message }, 'teardown: could not remove every route and rule');
    }
  }
}

const sysctlOp = (s: { key: string; value: string }) => `sysctl ${s.key.replace(/\//g, '.')}=${s.value}`;
