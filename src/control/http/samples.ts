/**
 * Per-uplink probe samples for the dashboard's plots: one every `everyMs`, the last hour kept
 * in a ring of fixed size per uplink (so memory does not grow with uptime or flapping).
 */
export interface Sample {
  /** Unix seconds. */
  t: number;
  rttMs: number | null;
  jitterMs: number | null;
  lossPct: number | null;
  /** 1 when the uplink is up, else 0. */
  up: number;
}

export interface SampleSource {
  name: string;
  rttMs?: number;
  jitterMs?: number;
  lossPct?: number;
  up: boolean;
}

export class SampleRing {
  private readonly rings = new Map<string, Sample[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly source: () => SampleSource[],
    // Every 5 s for an hour: a plot appears within seconds of opening the page.
    readonly everyMs = 5_000,
    readonly keep = 720,
  ) {}

  start(): void {
    this.take();
    this.timer ??= setInterval(() => this.take(), this.everyMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  take(now = Date.now()): void {
    const seen = new Set<string>();
    for (const s of this.source()) {
      seen.add(s.name);
      const ring = this.rings.get(s.name) ?? [];
      ring.push({
        t: Math.round(now / 1000),
        rttMs: s.rttMs ?? null,
        jitterMs: s.jitterMs ?? null,
        lossPct: s.lossPct ?? null,
        up: s.up ? 1 : 0,
      });
      if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
      this.rings.set(s.name, ring);
    }
    // An uplink removed from the config takes its samples with it.
    for (const name of this.rings.keys()) if (!seen.has(name)) this.rings.delete(name);
  }

  view(): { everyS: number; uplinks: Record<string, Sample[]> } {
    return { everyS: this.everyMs / 1000, uplinks: Object.fromEntries(this.rings) };
  }
}
