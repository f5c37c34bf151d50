/**
 * The reconcile loop: events only mark it dirty; a burst becomes one run after
 * a short coalescing delay; one run at a time. A run: observe → judge uplinks →
 * select → desired routes and rules → apply only the difference. A failed apply
 * is retried by a timer, and any new change looks again anyway.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { System } from '../system/system.js';
import type { Component } from '../model/component.js';
import { displayCommand, type KernelOp } from '../model/ops.js';
import { computeDelta, describeDelta, isEmptyDelta } from '../world/delta.js';
import { emptyWorld, type WorldState } from '../world/state.js';
import type { World } from '../world/world.js';
import { desiredKernel, type RoutedUplink } from '../routing/desired.js';
import { planKernel, type Plan } from '../routing/plan.js';
import { selectionTable, uplinkTables } from '../routing/tables.js';
import { linkFacts } from '../uplinks/facts.js';
import type { UplinkManager } from '../uplinks/manager.js';
import { firewallEnabled, type Firewall } from '../firewall/apply.js';
import { unselectedSnat } from '../firewall/snat.js';
import type { EventBus } from '../events/bus.js';

export interface ReconcilerDeps {
  system: System;
  world: World;
  manager: UplinkManager;
  firewall?: Firewall;
  bus: EventBus;
  log: Logger;
  config: () => Config;
  /** Demand proxies: which are open (their routes), and replay once routes have switched. */
  demand?: { openProxies(): Map<string, string>; afterApply(routedDevs: ReadonlySet<string>): void };
  coalesceMs?: number;
  retryMs?: number;
  /** How long start() waits for the first runs to settle (default 5 s). */
  startSettleMs?: number;
}

export class Reconciler implements Component {
  readonly name = 'reconcile loop';
  private timer?: NodeJS.Timeout;
  /** After a failed run; separate from `timer` so settle() does not wait on a failure that repeats. */
  private retryTimer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private firewallRun?: Promise<void>;
  private firewallAgain = false;
  private again = false;
  private last: WorldState = emptyWorld();
  private judged = false;
  private stopped = true;
  runs = 0;
  /** The selection for which the other uplinks' SNAT flows were last released. */
  private snatReleasedFor?: string;
  private snatRun?: Promise<void>;
  lastError?: string;

  constructor(private readonly d: ReconcilerDeps) {}

  /**
   * The first runs: settle() includes the firewall, then a run routes the proxies it armed.
   * Bounded: a loop kept busy must not keep the control socket from coming up.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.markDirty('start');
    await this.settle(this.d.startSettleMs ?? 5000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.wakeTimer);
    this.timer = undefined;
    await this.running;
    await this.firewallRun;
    await this.snatRun;
    // A run that failed while we waited may have armed a retry: a stopped loop must never run again.
    clearTimeout(this.retryTimer);
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

  /**
   * `urgent` (a carrier change) skips the coalescing delay: traffic waits on it (a dead
   * link's flows, a dialed link's held packets), and it comes alone, not in a burst.
   */
  markDirty(_reason: string, urgent = false): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer && urgent) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.timer) this.timer = setTimeout(() => this.run(), urgent ? 0 : this.d.coalesceMs ?? 5);
  }

  /**
   * Resolves once no run is pending or in flight, the firewall included (tests, admin commands
   * and start use it), or after `maxMs`: a loop kept busy by probe rounds must not hold up a caller forever.
   */
  async settle(maxMs = Infinity): Promise<void> {
    const end = Date.now() + maxMs;
    while ((this.timer || this.running || this.firewallRun) && Date.now() < end) {
      await Promise.race([this.running ?? this.firewallRun ?? new Promise((r) => setTimeout(r, 5)), new Promise((r) => setTimeout(r, Math.max(0, Math.min(50, end - Date.now()))))]);
    }
  }

  /**
   * The firewall follows the routes without holding up the loop: its apply spawns nft several
   * times (tens of ms), and a dialed link's held packets or a failover must not wait for
   * that. Routing never depends on it: NAT and accounting match uplinks by name. A failed
   * apply is retried like a failed run.
   */
  private kickFirewall(): void {
    const fw = this.d.firewall;
    if (!fw || this.firewallRun) {
      if (this.firewallRun) this.firewallAgain = true;
      return;
    }
    const armedBefore = [...fw.armedProxies()].join();
    this.firewallRun = fw.ensure().catch((e) => this.failed(e, [])).finally(() => {
      // Newly armed proxies may get their routes now.
      if ([...fw.armedProxies()].join() !== armedBefore) this.markDirty('demand proxies armed');
      this.firewallRun = undefined;
      if (this.firewallAgain && !this.stopped) {
        this.firewallAgain = false;
        this.kickFirewall();
      }
    });
  }

  private run(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.running = this.once().catch((e) => this.failed(e, [])).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.markDirty('changed during run');
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

  private failed(e: unknown, commands: string[]): void {
    this.lastError = (e as Error).message;
    this.d.log.error({ commands, error: this.lastError, stack: (e as Error).stack }, 'reconcile: failed; will retry');
    this.d.bus.publish({ type: 'reconcile', commands, deferred: 0, error: this.lastError });
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.markDirty('retry after a failed run'), this.d.retryMs ?? 2000).unref();
  }

  private async once(): Promise<void> {
    this.runs++;
    const { log, bus, manager } = this.d;
    const world = this.d.world.snapshot();
    this.logDelta(world);
    const cfg = this.d.config();
    const k = cfg.control.kernel;
    const now = Date.now();
    manager.evaluate(world, now);
    const uplinks = this.routed(cfg, world);
    const desired = desiredKernel(uplinks, manager.selection.order, selectionTable(k), k);
    const plan = planKernel({ ...desired, world, protocol: k.route_protocol, judged: this.judged });
    for (const c of plan.conflicts) log.warn(c);
    try {
      await this.sysctls(uplinks, cfg);
      const selectionDevs = desired.routes.filter((r) => r.table === selectionTable(k) && r.family === 4 && r.gateway).map((r) => r.dev!);
      const refused = await this.applyPlan(plan, selectionDevs);
      // The firewall does not depend on routes: a refused route must not keep it (or a proxy's
      // notrack rule) from being applied.
      this.kickFirewall();
      if (refused) throw refused;
      if (plan.ops.length) {
        const commands = plan.ops.map(displayCommand);
        log.info({ commands, deferred: plan.deferred.length }, `reconcile: ${this.d.system.kind === 'dry-run' ? 'would apply' : 'applied'} ${commands.length} change(s)`);
        bus.publish({ type: 'reconcile', commands, deferred: plan.deferred.length });
      }
      this.lastError = undefined;
      this.releaseSnat(cfg);
    } catch (e) {
      this.failed(e, plan.ops.map(displayCommand));
    }
    if (!this.judged && manager.allJudged()) this.setJudged();
    this.scheduleWake(manager.nextWakeAt(now));
  }

  /**
   * Addresses and new routes first: once they are in, a dialed link's held packets can go
   * (make before break), before rules and deletions, and before the firewall (NAT and the
   * keep-up accounting match uplinks by name; a re-render costs nft spawns). A refused op does
   * not stop the others (like `ip -force`); the first refusal is returned. A link whose own
   * selection route was refused gets no replay: its packets would go back into the proxy.
   */
  private async applyPlan({ ops, routesReady: cut }: Plan, selectionDevs: string[]): Promise<unknown> {
    let refused: unknown;
    if (cut) await this.d.system.apply(ops.slice(0, cut)).catch((e: unknown) => (refused = e));
    const failed = refused === undefined ? [] : (refused as { failed?: KernelOp[] }).failed;
    if (failed) {
      const missing = new Set(failed.flatMap((o) => ('route' in o && o.route.dev ? [o.route.dev] : [])));
      this.d.demand?.afterApply(new Set(selectionDevs.filter((d) => !missing.has(d))));
    }
    if (cut < ops.length) await this.d.system.apply(ops.slice(cut)).catch((e: unknown) => (refused ??= e));
    return refused;
  }

  /**
   * What the route planner needs of each configured uplink: facts and family health from the
   * running uplink, or (an uplink a new config would add) the facts as the world shows them.
   */
  private routed(cfg: Config, world: WorldState): RoutedUplink[] {
    const tables = uplinkTables(cfg);
    const armed = this.d.firewall?.armedProxies();
    const proxies = new Map([...(this.d.demand?.openProxies() ?? [])].filter(([, dev]) => !armed || armed.has(dev)));
    return Object.entries(cfg.uplinks).map(([name, ucfg], index) => {
      const u = this.d.manager.uplinks.get(name);
      const running = u && u.cfg.interface === ucfg.interface ? u : undefined;
      return {
        name, table: tables.get(name)!, index, dev: ucfg.interface, staticAddress: ucfg.address, proxyDev: proxies?.get(name),
        facts: running?.facts ?? linkFacts(world, ucfg),
        familyOk: running ? { 4: this.d.manager.familyOk(running, 4), 6: this.d.manager.familyOk(running, 6) } : undefined,
      };
    });
  }

  /** The kernel ops a config would cause now, without applying them (`uplink plan`). */
  planFor(cfg: Config): string[] {
    const k = cfg.control.kernel;
    const world = this.d.world.snapshot();
    const names = Object.keys(cfg.uplinks);
    const order = this.d.manager.selection.order.filter((n) => names.includes(n));
    const desired = desiredKernel(this.routed(cfg, world), order, selectionTable(k), k);
    return planKernel({ ...desired, world, protocol: k.route_protocol, judged: true }).ops.map(displayCommand);
  }

  /** `quit --teardown`, after stop(): removes every route and rule of ours (never a foreign one). */
  async teardown(): Promise<void> {
    const k = this.d.config().control.kernel;
    const plan = planKernel({ routes: [], rules: [], world: this.d.world.snapshot(), protocol: k.route_protocol, judged: true });
    const commands = plan.ops.map(displayCommand);
    try {
      await this.d.system.apply(plan.ops);
      this.d.log.info({ commands }, `teardown: removed ${commands.length} route(s) and rule(s)`);
    } catch (e) {
      this.d.log.error({ commands, error: (e as Error).message }, 'teardown: could not remove every route and rule');
    }
  }

  /**
   * Once routes point elsewhere, drop the conntrack entries pinned by SNAT to the uplinks that
   * no longer carry traffic, so their flows start over through the selected one (firewall/snat.ts).
   * With nothing selected they are left alone: their uplink may come back first.
   * It runs beside the loop (a big table's dump takes a while; failover must not wait), and a
   * failure is a warning that is retried: the routes are right, only those flows stay stuck.
   */
  private releaseSnat(cfg: Config): void {
    const selected = this.d.manager.selection.selected;
    if (this.snatRun || !selected || selected === this.snatReleasedFor || !firewallEnabled(cfg)) return;
    const addresses = unselectedSnat(cfg, selected);
    if (!addresses.length) {
      this.snatReleasedFor = selected;
      return;
    }
    this.snatRun = this.d.system.conntrackFlush(addresses).then((r) => {
      this.snatReleasedFor = selected;
      const message = `released ${r.deleted} flow(s) pinned by SNAT to ${addresses.join(', ')} (of ${r.examined} tracked)`;
      if (r.deleted) this.d.log.info({ addresses, ...r }, `conntrack: ${message}`);
      this.d.bus.publish({ type: 'conntrack', addresses, deleted: r.deleted, examined: r.examined, ok: true, message });
    }, (e: unknown) => {
      const message = `could not release the flows pinned by SNAT to ${addresses.join(', ')}: ${(e as Error).message}; retrying`;
      this.d.log.warn({ addresses }, `conntrack: ${message}`);
      this.d.bus.publish({ type: 'conntrack', addresses, deleted: 0, examined: 0, ok: false, message });
      if (!this.stopped) setTimeout(() => this.markDirty('retry the conntrack release'), 5000).unref();
    }).finally(() => {
      this.snatRun = undefined;
      // The selection moved again meanwhile: its release is due now.
      if (this.d.manager.selection.selected !== selected) this.markDirty('selection moved during a conntrack release');
    });
  }

  /** The kernel skips a carrier-less uplink's routes by itself only with this set (PLATFORM-NOTES.md). */
  private async sysctls(uplinks: RoutedUplink[], cfg: Config): Promise<void> {
    // A gateway with a LAN forwards; without one, forwarding is the admin's business.
    if (cfg.lan.length) await this.setSysctl('net/ipv4/ip_forward', '1');
    for (const u of uplinks) {
      if (!u.facts.present) continue;
      for (const fam of ['ipv4', 'ipv6']) await this.setSysctl(`net/${fam}/conf/${u.dev}/ignore_routes_with_linkdown`, '1');
    }
  }

  /** Best effort: a read-only /proc/sys (containers) must not stop routes from being applied. */
  private async setSysctl(key: string, value: string): Promise<void> {
    try {
      if (await this.d.system.sysctl(key, value)) this.d.log.info(`set ${key.replace(/\//g, '.')}=${value}`);
    } catch (e) {
      this.d.log.warn({ error: (e as Error).message }, `cannot set ${key.replace(/\//g, '.')}=${value}`);
    }
  }

  private scheduleWake(at: number | undefined): void {
    clearTimeout(this.wakeTimer);
    if (at !== undefined && !this.stopped) this.wakeTimer = setTimeout(() => this.markDirty('failback delay over'), at - Date.now() + 1).unref();
  }
}
