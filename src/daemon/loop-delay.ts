/**
 * The main thread's event-loop delay, for status. Probing, judging and failover all run on
 * this loop: a delay here is a delay of failover, so it is measured where admins can see it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Component } from '../model/component.js';
import type { LoopDelayStatus } from '../control/status.js';

const WINDOW_MS = 60_000;
/** 50 ms: far shorter than the instant profile's 150 ms detection, 20 wake-ups a second. */
const LOOP_SAMPLE_MS = 50;
const ms = (ns: number) => Math.round(ns / 1e4) / 100;

export class LoopDelay implements Component {
  readonly name = 'event-loop monitor';
  private current?: IntervalHistogram;
  /** The last full window, summarised (an event-loop histogram cannot be merged into another). */
  private previous?: { p99Ms: number; maxMs: number };
  private maxSinceStart = 0;
  private rotated = 0;
  private timer?: NodeJS.Timeout;

  async start(): Promise<void> {
    // Each sample records how late it fired: a stall of LOOP_SAMPLE_MS or more always shows,
    // a shorter one in proportion. Finer sampling would wake an idle daemon 100 times a second.
    this.current = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    this.current.enable();
    this.rotated = Date.now();
    this.timer = setInterval(() => this.rotate(), WINDOW_MS).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.current?.disable();
  }

  private window(): { p99Ms: number; maxMs: number } {
    const h = this.current;
    return h && h.count > 0 ? { p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) } : { p99Ms: 0, maxMs: 0 };
  }

  private rotate(): void {
    this.previous = this.window();
    this.maxSinceStart = Math.max(this.maxSinceStart, this.previous.maxMs);
    this.current?.reset();
    this.rotated = Date.now();
  }

  status(): LoopDelayStatus {
    const now = this.window();
    const prev = this.previous ?? { p99Ms: 0, maxMs: 0 };
    return {
      p99Ms: Math.max(now.p99Ms, prev.p99Ms),
      maxMs: Math.max(now.maxMs, prev.maxMs),
      windowS: Math.round((Date.now() - this.rotated + (this.previous ? WINDOW_MS : 0)) / 1000),
      maxSinceStartMs: Math.max(this.maxSinceStart, now.maxMs),
    };
  }
}
