/**
 * The reconcile loop: events only mark it dirty; a burst becomes one run after
 * a short coalescing delay; one run at a time; a run that fails leaves the loop
 * dirty-able and the next change (or the retry timer) tries again.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { System } from '../system/system.js';
import { routeCommand } from '../system/ops.js';
import { computeDelta, describeDelta, isEmptyDelta } from '../world/delta.js';
import { emptyWorld, type WorldState } from '../world/state.js';
import type { World } from '../world/world.js';
import { desiredRoutes } from '../routing/desired.js';
import { planRoutes } from '../routing/plan.js';
import { uplinkTables } from '../routing/tables.js';
import type { EventBus } from './events.js';

export interface ReconcilerDeps {
  system: System;
  world: World;
  bus: EventBus;
  log: Logger;
  config: () => Config;
  coalesceMs?: number;
  retryMs?: number;
}

export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private last: WorldState = emptyWorld();
  private judged = false;
  private stopped = true;
  runs = 0;

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    this.stopped = false;
    this.markDirty('start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** After one full probe round has been judged, our unwanted routes may be deleted. */
  setJudged(): void {
    if (this.judged) return;
    this.judged = true;
    this.markDirty('first probe round judged');
  }

  isJudged(): boolean {
    return this.judged;
  }

  markDirty(_reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => this.run(), this.d.coalesceMs ?? 20);
  }

  /** Resolves once no run is pending or in flight (tests and `quit` use it). */
  async settle(): Promise<void> {
    while (this.timer || this.running) await (this.running ?? new Promise((r) => setTimeout(r, 5)));
  }

  private run(): void {
    this.timer = undefined;
    this.running = this.once().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.markDirty('changed during run');
      }
    });
  }

  private async once(): Promise<void> {
    this.runs++;
    const { world, log, bus, system } = this.d;
    const now = world.snapshot();
    const delta = computeDelta(this.last, now);
    this.last = now;
    if (!isEmptyDelta({ ...delta, foreignChanged: false })) {
      const summary = describeDelta(delta);
      log.info({ delta }, `kernel: ${summary}`);
      bus.publish({ type: 'kernel', summary, delta });
    } else if (delta.foreignChanged) {
      // Foreign counts move all the time on a router with a full table: not an event.
      log.debug({ foreign: now.foreign }, 'kernel: foreign route counts changed');
    }
    const cfg = this.d.config();
    const k = cfg.control.kernel;
    const plan = planRoutes({ desired: desiredRoutes(uplinkTables(cfg), k), world: now, protocol: k.route_protocol, judged: this.judged });
    for (const c of plan.conflicts) log.warn(c);
    if (!plan.ops.length) return;
    const commands = plan.ops.map((o) => `ip ${routeCommand(o)}`);
    try {
      await system.apply(plan.ops);
      log.info({ commands, deferred: plan.deferred.length }, `reconcile: applied ${commands.length} change(s)`);
      bus.publish({ type: 'reconcile', commands, deferred: plan.deferred.length });
    } catch (e) {
      const error = (e as Error).message;
      log.error({ commands, error }, 'reconcile: apply failed; will retry');
      bus.publish({ type: 'reconcile', commands, deferred: plan.deferred.length, error });
      this.timer ??= setTimeout(() => this.run(), this.d.retryMs ?? 2000);
    }
  }
}
