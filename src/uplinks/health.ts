/**
 * Health probing of one uplink: rounds of probes to its targets, from its own
 * address (so policy rules send them out of this uplink whatever is selected),
 * carrying our fwmark. A failed round is re-checked within one interval (or on
 * the profile's re-check schedule, e.g. frugal's 2/4/8 s).
 */
import type { Logger } from 'pino';
import type { ResolvedProbe } from '../config/probe.js';
import { scopedTarget, targetFamily } from '../model/probe-target.js';
import type { ProbeRequest, ProbeResult } from '../system/probe/types.js';
import type { ProbeRunner } from '../system/system.js';
import { ProbeStats } from './stats.js';
import { after, type Timer } from '../model/timer.js';

export interface ProbeSource {
  /** Probing makes sense now: carrier, address, and something to probe. */
  ready: boolean;
  /** The uplink's interface: the scope of link-local targets (a learned IPv6 gateway often is one). */
  iface: string;
  address4?: string;
  address6?: string;
  gateway4?: string;
  gateway6?: string;
}

export interface HealthOptions {
  probe: ResolvedProbe;
  mark: number;
  prober: ProbeRunner;
  source: () => ProbeSource;
  onRound: () => void;
  log: Logger;
}

const familyOf = (r: ProbeRequest): 4 | 6 => targetFamily(r.method, r.target);

export class HealthChecker {
  /** The uplink as a whole: a round passes when `reliability` targets answer. */
  readonly stats = new ProbeStats();
  /** Per address family, for targets of that family: an uplink may carry IPv4 but not IPv6. */
  readonly family = { 4: new ProbeStats(), 6: new ProbeStats() };
  private timer?: Timer;
  private wake?: () => void;
  private running = false;
  private loopDone?: Promise<void>;

  constructor(private readonly o: HealthOptions) {}

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loopDone;
  }

  /** The link changed: judge it afresh. */
  reset(): void {
    this.stats.reset();
    this.family[4].reset();
    this.family[6].reset();
  }

  /** Probe now instead of at the next tick (the link just came back). */
  kick(): void {
    this.timer?.clear();
    this.wake?.();
  }

  /** The targets of a round: the configured ones, or the gateway of each family. */
  targets(src: ProbeSource): ProbeRequest[] {
    const p = this.o.probe;
    const list = p.targets.length ? p.targets : [src.gateway4, src.gateway6].filter((g): g is string => !!g);
    return list.map((target) => {
      const scoped = scopedTarget(p.method, target, src.iface);
      return {
        method: p.method,
        target: scoped ?? target,
        timeoutMs: p.timeout,
        mark: this.o.mark,
        query: p.query,
        source: targetFamily(p.method, target) === 6 ? src.address6 : src.address4,
        ...(scoped ? { device: src.iface } : {}),
      };
    });
  }

  private async loop(): Promise<void> {
    let recheck = 0;
    while (this.running) {
      const started = Date.now();
      const src = this.o.source();
      let delay = this.o.probe.interval;
      if (src.ready) {
        const pass = await this.round(src);
        recheck = pass ? 0 : recheck + 1;
        const schedule = this.o.probe.recheck;
        if (!pass && recheck <= schedule.length && schedule.length)
          delay = Math.min(schedule[recheck - 1], this.o.probe.interval);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // unref (after's default): the daemon is kept alive by its socket; a forgotten checker must not keep a process.
        this.timer = after(started + delay - Date.now(), resolve);
      });
    }
  }

  private async round(src: ProbeSource): Promise<boolean> {
    const reqs = this.targets(src);
    if (!reqs.length) return false;
    // A target of a family this uplink has no address for cannot be probed through it: an
    // unbound probe would follow the selected route through another uplink and pass. It fails.
    const unsourced: ProbeResult = { ok: false, error: 'no address of this family on the uplink' };
    const results = await Promise.all(reqs.map((r) => (r.source ? this.o.prober.probe(r) : unsourced)));
    const ok = results.filter((r) => r.ok);
    const pass = ok.length >= Math.min(this.o.probe.reliability, reqs.length);
    const at = Date.now();
    this.stats.record({ pass, answered: ok.length, sent: reqs.length, rtts: ok.map((r) => r.rttMs ?? 0), at });
    for (const fam of [4, 6] as const) {
      const mine = results.filter((_, i) => familyOf(reqs[i]) === fam);
      if (!mine.length) continue;
      const good = mine.filter((r) => r.ok);
      this.family[fam].record({
        pass: good.length >= Math.min(this.o.probe.reliability, mine.length),
        answered: good.length,
        sent: mine.length,
        rtts: good.map((r) => r.rttMs ?? 0),
        at,
      });
    }
    if (!pass) this.o.log.debug({ errors: results.map((r) => r.error).filter(Boolean) }, 'probe round failed');
    if (this.running) this.o.onRound();
    return pass;
  }
}
