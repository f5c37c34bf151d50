/**
 * The schedule: fires cron entries' admin actions at their moments and holds uplinks to their
 * allow/deny windows. It looks at the clock at every minute boundary (window edges and 5-field
 * cron moments are whole minutes) and at each cron moment, so a missed or late timer only
 * delays a look; moments before start are never replayed.
 */
import type { Logger } from 'pino';
import type { Cron } from 'croner';
import type { Config, ScheduleConfig } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { Component } from '../model/component.js';
import { cronOf, dueBetween, nextRun } from './cron.js';
import { heldNow, localTime } from './windows.js';

const MINUTE = 60_000;
/** After the boundary, so the clock reads the new minute even when timers fire a little early. */
const AFTER_EDGE_MS = 5;

export interface SchedulerDeps {
  config: () => Config;
  /** Wall-clock ms (the System's, which tests may shift). */
  clock: () => number;
  bus: EventBus;
  log: Logger;
  /** Performs a cron entry's action as the CLI would; resolves to what it did. */
  act: (s: ScheduleConfig) => Promise<string>;
  /** The uplinks a window holds now, with why (all others are free). */
  hold: (held: ReadonlyMap<string, string>) => void;
}

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** How far back a clock step may go and still keep what already fired from firing again. */
const KEEP_AFTER_STEP_BACK_MS = 24 * 3600_000;

export class Scheduler implements Component {
  readonly name = 'schedule';
  private crons = new Map<number, Cron>();
  private timer?: NodeJS.Timeout;
  private lastLook = 0;
  private held: ReadonlyMap<string, string> = new Map();
  /** Actions run one after another, in cron order: two entries at one moment must not interleave. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly d: SchedulerDeps) {}

  async start(): Promise<void> {
    this.lastLook = this.d.clock();
    this.sync();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  timeZone(): string {
    return this.d.config().timezone ?? systemTimeZone();
  }

  /** After a config change: new cron entries, windows judged again at once. */
  sync(): void {
    this.crons = new Map();
    // The time zone only when there is a cron entry: asking for it loads ICU's zone data.
    let tz: string | undefined;
    this.d.config().schedule.forEach((s, i) => {
      if (s.cron !== undefined) this.crons.set(i, cronOf(s.cron, (tz ??= this.timeZone())));
    });
    this.look();
  }

  private look(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.d.clock();
    const schedule = this.d.config().schedule;
    // Nothing scheduled: no wake-up each minute, and no time zone rules (Intl's ICU data is
    // ~5 MB of an idle daemon's memory once touched).
    if (!schedule.length) {
      this.lastLook = now;
      this.holdWindows(new Map());
      return;
    }
    // A clock stepped back fires nothing; one stepped far forward fires nothing either (cron.ts).
    const due = dueBetween(schedule, this.crons, this.lastLook, now);
    // Stepped back a little (NTP): what already fired up to the old time must not fire again.
    // Stepped back by more than a day, the clock was wrong before: start from the new time.
    const back = this.lastLook - now;
    if (back <= 0 || back > KEEP_AFTER_STEP_BACK_MS) this.lastLook = now;
    this.holdWindows(heldNow(schedule, localTime(now, this.timeZone())));
    for (const i of due) this.fire(schedule[i]!);
    this.timer = setTimeout(() => this.look(), this.nextLook(now) - now);
  }

  private nextLook(now: number): number {
    const edge = Math.floor(now / MINUTE) * MINUTE + MINUTE + AFTER_EDGE_MS;
    const runs = [...this.crons.values()].map((c) => nextRun(c, now)).filter((t) => t !== undefined);
    return Math.min(edge, ...runs.map((t) => t + AFTER_EDGE_MS));
  }

  private holdWindows(held: Map<string, string>): void {
    const was = this.held;
    this.held = held;
    for (const name of new Set([...was.keys(), ...held.keys()])) {
      const why = held.get(name);
      if (why === was.get(name)) continue;
      const message = why ? `${name}: held by the schedule (${why})` : `${name}: released by the schedule`;
      this.d.log.info({ uplink: name }, message);
      this.d.bus.publish({ type: 'schedule', uplink: name, action: why ? 'hold' : 'release', ok: true, message });
    }
    this.d.hold(held);
  }

  private fire(s: ScheduleConfig): void {
    const what = `${s.action}${s.uplink ? ` ${s.uplink}` : ''} (cron "${s.cron}")`;
    this.queue = this.queue.then(async () => {
      try {
        const message = await this.d.act(s);
        this.d.log.info({ uplink: s.uplink, action: s.action }, `schedule: ${what}: ${message}`);
        this.d.bus.publish({
          type: 'schedule',
          uplink: s.uplink,
          action: s.action!,
          ok: true,
          message: `${what}: ${message}`,
        });
      } catch (e) {
        const message = `${what} failed: ${(e as Error).message}`;
        this.d.log.error({ uplink: s.uplink, action: s.action }, `schedule: ${message}`);
        this.d.bus.publish({ type: 'schedule', uplink: s.uplink, action: s.action!, ok: false, message });
      }
    });
  }

  /** For `uplink status`: each cron entry's next moment, and the uplinks held now. */
  view() {
    const now = this.d.clock();
    const cfg = this.d.config();
    return {
      // Only where it matters (the time zone of no schedule would cost ICU's data for nothing).
      ...(cfg.schedule.length || cfg.timezone ? { timeZone: this.timeZone() } : {}),
      entries: cfg.schedule.map((s, i) => {
        const c = this.crons.get(i);
        const next = c && nextRun(c, now);
        return { ...s, ...(next !== undefined ? { next: new Date(next).toISOString() } : {}) };
      }),
      held: Object.fromEntries(this.held),
    };
  }
}
