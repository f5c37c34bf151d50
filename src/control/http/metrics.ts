/**
 * Prometheus metrics (prom-client, on a registry of our own). Most values are read from the
 * status view when scraped, so nothing is counted twice and an idle daemon does no work for
 * them; what only events tell (failovers and their duration, hook outcomes, ruleset applies,
 * demand replays) is counted from the bus. Names carry their unit; counters end in `_total`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DaemonEvent } from '../../events/bus.js';
import type { Status } from '../status.js';
import { UPLINK_STATES } from '../../model/uplink-states.js';

type Labels = Record<string, string>;

export class Metrics {
  readonly registry = new Registry();
  private readonly failovers: Counter;
  private readonly failoverSeconds: Histogram;
  private readonly hookRuns: Counter;
  private readonly rulesetApplies: Counter;
  private readonly reconcileSeconds: Histogram;
  private readonly demandDials: Counter;
  /** The selected uplink went bad at this moment (performance.now), waiting for the switch. */
  private leaving?: { name: string; at: number };
  private selected?: string;

  constructor(private readonly status: () => Status) {
    const r = this.registry;
    // prom-client samples the event loop every 10 ms by default: 100 wake-ups a second of an idle
    // daemon. Once a second is enough for its lag gauge (status has the daemon's own p99 and max).
    collectDefaultMetrics({ register: r, prefix: 'uplinkd_', eventLoopMonitoringPrecision: 1000 });
    this.uplinkGauges();
    this.daemonGauges();
    this.failovers = new Counter({
      name: 'uplinkd_failovers_total',
      help: 'Times the selected uplink changed because the one carrying traffic went bad.',
      registers: [r],
    });
    this.failoverSeconds = new Histogram({
      name: 'uplinkd_failover_seconds',
      help: 'From the selected uplink judged bad (or its carrier lost) to the route switch.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.hookRuns = new Counter({
      name: 'uplinkd_hook_runs_total',
      help: 'Hook runs by result: ok, failed, timeout (killed at hooks.timeout).',
      labelNames: ['result'],
      registers: [r],
    });
    this.rulesetApplies = new Counter({
      name: 'uplinkd_ruleset_applies_total',
      help: 'nftables ruleset applies by result (ok, failed).',
      labelNames: ['result'],
      registers: [r],
    });
    this.reconcileSeconds = new Histogram({
      name: 'uplinkd_reconcile_duration_seconds',
      help: 'Duration of reconcile runs.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [r],
    });
    this.demandDials = new Counter({
      name: 'uplinkd_demand_dials_total',
      help: 'Dials started by LAN traffic on a demand uplink.',
      labelNames: ['uplink'],
      registers: [r],
    });
    for (const result of ['ok', 'failed', 'timeout']) this.hookRuns.inc({ result }, 0);
    for (const result of ['ok', 'failed']) this.rulesetApplies.inc({ result }, 0);
  }

  /** Every event passes here (subscribed by the HTTP component). */
  onEvent(e: DaemonEvent): void {
    const now = performance.now();
    switch (e.type) {
      case 'uplink':
        if (e.event !== 'state' || e.name !== this.selected) break;
        // The clock starts when the selected uplink stops carrying; a return to up stops it.
        if (!CARRYING.has(e.state) && CARRYING.has(e.prev ?? '')) this.leaving = { name: e.name, at: now };
        else if (CARRYING.has(e.state)) this.leaving = undefined;
        break;
      case 'selection':
        if (this.leaving && e.prev === this.leaving.name && e.selected !== e.prev) {
          this.failovers.inc();
          this.failoverSeconds.observe((now - this.leaving.at) / 1000);
        }
        this.leaving = undefined;
        this.selected = e.selected;
        break;
      case 'hook':
        this.hookRuns.inc({ result: e.ok ? 'ok' : /killed after/.test(e.message) ? 'timeout' : 'failed' });
        break;
      case 'firewall':
        this.rulesetApplies.inc({ result: e.ok ? 'ok' : 'failed' });
        break;
      case 'demand':
        if (e.event === 'dial') this.demandDials.inc({ uplink: e.name });
        break;
    }
  }

  private scrape?: Status;

  /** The selection when the HTTP component starts (later ones come as events). */
  syncSelection(): void {
    this.selected = this.status().selection.selected;
  }

  reconcileRan(ms: number): void {
    this.reconcileSeconds.observe(ms / 1000);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    // One status for the whole scrape: every family reads the same moment, built once.
    this.scrape = this.status();
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      this.scrape = undefined;
    }
  }

  /** A gauge (or counter) whose values are read from the status at scrape time. */
  private fromStatus(
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    read: (s: Status) => [Labels, number][],
  ): void {
    const now = () => this.scrape ?? this.status();
    const Kind = kind === 'gauge' ? Gauge : Counter;
    // Status counters restart when their object does (a reload rebuilds an uplink's prober, a
    // re-added uplink its driver): a Prometheus counter must never go down, so what a restart
    // lost is carried as an offset.
    const mono = new Monotonic();
    new Kind({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect(this: Gauge | Counter) {
        this.reset();
        for (const [labels, v] of read(now())) {
          if (!Number.isFinite(v)) continue;
          if (kind === 'gauge') (this as Gauge).set(labels, v);
          else (this as Counter).inc(labels, mono.value(labels, v));
        }
      },
    });
  }

  private uplinkGauges(): void {
    const each = (f: (u: Status['uplinks'][number]) => number | undefined) => (s: Status) =>
      s.uplinks.flatMap((u): [Labels, number][] => {
        const v = f(u);
        return v === undefined ? [] : [[{ uplink: u.name }, v]];
      });
    const ms = (v: number | undefined) => (v === undefined ? undefined : v / 1000);
    this.fromStatus(
      'gauge',
      'uplinkd_uplink_state',
      'Current state of each uplink: 1 for its state, 0 for the others.',
      ['uplink', 'state'],
      (s) =>
        s.uplinks.flatMap((u) =>
          UPLINK_STATES.map((st): [Labels, number] => [{ uplink: u.name, state: st }, u.state === st ? 1 : 0]),
        ),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_uplink_usable',
      '1 when the uplink may carry traffic now.',
      ['uplink'],
      each((u) => (u.usable ? 1 : 0)),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_uplink_selected',
      '1 for the uplink carrying the default route.',
      ['uplink'],
      each((u) => (u.selected ? 1 : 0)),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_uplink_state_since_seconds',
      'Unix time the uplink entered its current state.',
      ['uplink'],
      each((u) => (u.since ? Date.parse(u.since) / 1000 : undefined)),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_probe_rtt_seconds',
      'Mean probe round-trip time over the probe window.',
      ['uplink'],
      each((u) => ms(u.probe?.rttMs.avg)),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_probe_rtt_deviation_seconds',
      'Mean RTT change between probes (jitter) over the probe window.',
      ['uplink'],
      each((u) => ms(u.probe?.rttMs.jitter)),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_probe_loss_ratio',
      'Share of probes unanswered over the probe window (0..1).',
      ['uplink'],
      each((u) => (u.probe?.lossPct === undefined ? undefined : u.probe.lossPct / 100)),
    );
    this.fromStatus(
      'counter',
      'uplinkd_probes_sent_total',
      'Probes sent.',
      ['uplink'],
      each((u) => u.probe?.sentTotal),
    );
    this.fromStatus(
      'counter',
      'uplinkd_probes_lost_total',
      'Probes that got no answer in time.',
      ['uplink'],
      each((u) => u.probe?.lostTotal),
    );
    this.fromStatus(
      'counter',
      'uplinkd_dial_attempts_total',
      'Connect commands started (dials and redials).',
      ['uplink'],
      each((u) => u.dial?.attempts),
    );
    this.fromStatus(
      'counter',
      'uplinkd_dial_failures_total',
      'Dials that failed (ended before the link was up, or hung up by probes or the connect timeout).',
      ['uplink'],
      each((u) => u.dial?.failedTotal),
    );
    const q = (f: (d: NonNullable<Status['uplinks'][number]['demand']>['queue']) => number) =>
      each((u) => (u.demand ? f(u.demand.queue) : undefined));
    this.fromStatus(
      'gauge',
      'uplinkd_demand_queue_bytes',
      'Bytes of LAN packets held while a demand uplink dials.',
      ['uplink'],
      q((c) => c.bytes),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_demand_queue_packets',
      'LAN packets held while a demand uplink dials.',
      ['uplink'],
      q((c) => c.packets),
    );
    this.fromStatus(
      'counter',
      'uplinkd_demand_replayed_packets_total',
      'Held packets delivered once the link came up.',
      ['uplink'],
      q((c) => c.replayed),
    );
    this.fromStatus(
      'counter',
      'uplinkd_demand_dropped_packets_total',
      'Held packets dropped (queue full or too old).',
      ['uplink'],
      q((c) => c.droppedFull + c.droppedAge),
    );
  }

  private daemonGauges(): void {
    const one = (v: number | undefined): [Labels, number][] => (v === undefined ? [] : [[{}, v]]);
    this.fromStatus('gauge', 'uplinkd_job_running', '1 when the job runs.', ['job'], (s) =>
      s.jobs.map((j) => [{ job: j.name }, j.state === 'running' ? 1 : 0]),
    );
    this.fromStatus(
      'counter',
      'uplinkd_job_restarts_total',
      'Times a job was restarted after it exited.',
      ['job'],
      (s) => s.jobs.map((j) => [{ job: j.name }, j.restarts]),
    );
    this.fromStatus(
      'counter',
      'uplinkd_netlink_messages_total',
      'Netlink messages read from the kernel event socket.',
      [],
      (s) => one(s.watch.messages),
    );
    this.fromStatus('counter', 'uplinkd_netlink_overruns_total', 'Netlink event socket overruns (ENOBUFS).', [], (s) =>
      one(s.watch.overruns),
    );
    this.fromStatus(
      'counter',
      'uplinkd_netlink_resyncs_total',
      'Full re-reads of the kernel state after an overrun.',
      [],
      (s) => one(s.watch.resyncs),
    );
    this.fromStatus('counter', 'uplinkd_reconcile_runs_total', 'Reconcile runs.', [], (s) => one(s.reconcile.runs));
    this.fromStatus(
      'gauge',
      'uplinkd_reconcile_failing_ops',
      'Kernel ops that keep failing (retried with backoff).',
      [],
      (s) => one(s.reconcile.failing.length),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_apply_pending',
      '1 while a confirmed apply waits for `uplink confirm`.',
      [],
      (s) => one(s.apply ? 1 : 0),
    );
    this.fromStatus('gauge', 'uplinkd_apply_seconds_left', 'Seconds until a pending apply rolls back.', [], (s) =>
      one(s.apply?.secondsLeft),
    );
    this.fromStatus('gauge', 'uplinkd_judged', '1 once every uplink has been judged since start.', [], (s) =>
      one(s.daemon.judged ? 1 : 0),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_event_loop_delay_p99_seconds',
      'Main thread event-loop delay p99 over the last minute.',
      [],
      (s) => one(s.daemon.eventLoop.p99Ms / 1000),
    );
    this.fromStatus('gauge', 'uplinkd_foreign_routes', 'Routes in the kernel that are not ours.', [], (s) =>
      one(s.foreignRoutes.total),
    );
    this.fromStatus(
      'gauge',
      'uplinkd_config_warnings',
      'Config warnings (setups that validate but cannot work as written).',
      [],
      (s) => one(s.warnings.length),
    );
  }
}

/** States in which an uplink carries traffic (degraded still does). */
const CARRYING = new Set(['up', 'degraded']);

/** Turns a source counter that may restart from 0 into one that never goes down. */
export class Monotonic {
  private readonly seen = new Map<string, { last: number; offset: number }>();

  value(labels: Labels, v: number): number {
    const key = JSON.stringify(Object.entries(labels).sort());
    const s = this.seen.get(key) ?? { last: 0, offset: 0 };
    if (v < s.last) s.offset += s.last;
    s.last = v;
    this.seen.set(key, s);
    return v + s.offset;
  }
}
