/**
 * The main thread's event-loop delay, for status. Probing, judging and failover all run on
 * this loop: a delay here is a delay of failover, so it is measured where admins can see it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Component } from '../model/component.js';
import type { LoopDelayStatus } from '../control/status.js';

const WINDOW_MS = 60_000;
/**
 * A quarter of the fastest probe interval, between 50 ms (far shorter than the instant
 * profile's 150 ms detection; 20 wake-ups a second) and 1 s: a daemon on the normal profile
 * (2 s) samples every 500 ms, since each sample wakes an idle daemon.
 */
const SAMPLE_MIN_MS = 50;
const SAMPLE_MAX_MS = 1000;
export const sampleMs = (fastestProbeMs: number) =>
  Math.min(SAMPLE_MAX_MS, Math.max(SAMPLE_MIN_MS, Math.floor(fastestProbeMs / 4) || SAMPLE_MAX_MS));
const ms = (ns: number) => Math.round(ns / 1e4) / 100;

export class LoopDelay implements Component {
  readonly name = 'event-loop monitor';
  private current?: IntervalHistogram;
  /** The last full window, summarised (an event-loop histogram cannot be merged into another). */
  private previous?: { p99Ms: number; maxMs: number };
  private maxSinceStart = 0;
  private rotated = 0;
  private timer?: NodeJS.Timeout;
  private resolution = SAMPLE_MIN_MS;

  async start(): Promise<void> {
    this.sample(this.resolution);
    this.rotated = Date.now();
    this.timer = setInterval(() => this.rotate(), WINDOW_MS).unref();
  }

  /** Samples in step with the fastest probe interval (at start and after each reload). */
  fitTo(fastestProbeMs: number): void {
    const r = sampleMs(fastestProbeMs);
    if (r === this.resolution) return;
    this.resolution = r;
    if (!this.current) return; // start() uses it
    this.rotate(); // a histogram's resolution is fixed: the window so far becomes the last one
    this.current.disable();
    this.sample(r);
  }

  /**
   * Each sample records how late it fired: a stall of the resolution or more always shows, a
   * shorter one in proportion.
   */
  private sample(resolution: number): void {
    this.current = monitorEventLoopDelay({ resolution });
    this.current.enable();
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
