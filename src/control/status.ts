/** `uplink status` data: a pure view of config + observed world. */
import type { Config } from '../config/schema.js';
import { uplinkTables } from '../routing/tables.js';
import type { RoutedEntry } from '../routing/routed.js';
import type { JobManager } from '../jobs/manager.js';
import type { Hooks } from '../hooks/hooks.js';
import type { Scheduler } from '../schedule/scheduler.js';
import type { Notifier } from '../notify/notifier.js';
import type { Announcer } from '../announce/announcer.js';
import type { WatchStats } from '../model/kernel.js';
import type { uplinkView } from '../uplinks/view.js';
import type { FirewallStatus } from '../firewall/apply.js';
import type { ReconcileStatus } from '../reconcile/status.js';
import type { DemandView } from '../demand/proxy.js';
import type { ConfigWarning } from '../reconcile/warnings.js';
import { defaultRoutes, foreignTotal, linkName, type WorldState } from '../world/state.js';

/** Event-loop delay in ms over the last full minute and the current one; the worst since start. */
export interface LoopDelayStatus {
  p99Ms: number;
  maxMs: number;
  windowS: number;
  maxSinceStartMs: number;
}

export interface StatusExtras {
  pid: number;
  version: string;
  startedAt: string;
  configPath: string;
  system: string;
  /** Still starting: the control socket answers first (status, ping); `judged` is false until the first settle. */
  starting: boolean;
  judged: boolean;
  /** The main thread's event-loop delay: what probing, judging and failover wait behind. */
  eventLoop: LoopDelayStatus;
  /** Setups that validate but cannot work as written (forward targets, IPv6 prefixes). */
  warnings: ConfigWarning[];
  /** Why the config file on disk is not what runs (a pending apply, an edit not reloaded). */
  configDiffers?: string;
  watch: WatchStats;
  reconcileRuns: number;
  lastError?: string;
  /** The last run (its reasons, op count, duration) and the ops that keep failing. */
  reconcile: ReconcileStatus;
  selection: { selected?: string; forced?: string; reason: string; order: string[] };
  /** Routed LAN entries with the via uplinks that can carry them now, best first. */
  routed: RoutedEntry[];
  /** Hooks: runs, stale events dropped, refused files. */
  hooks: ReturnType<Hooks['view']>;
  schedule: ReturnType<Scheduler['view']>;
  notify: ReturnType<Notifier['view']>;
  announce: ReturnType<Announcer['view']>;
  /** Every job: state, pid, since, restarts, last exit, why it runs or waits. */
  jobs: ReturnType<JobManager['view']>;
  /** A confirmed apply waiting for `uplink confirm`, and when it rolls back. */
  apply?: {
    file: string;
    appliedAt: string;
    deadline: string;
    secondsLeft: number;
    /** Uplinks the pending config removes, still probed (and connected) so a rollback is instant. */
    parked?: { name: string; state: string }[];
  };
  firewall: FirewallStatus;
  uplinks: Record<string, UplinkRuntimeView>;
}

/** A demand uplink adds its proxy view: why it dialed, what keeps it up, the queue. */
export type UplinkRuntimeView = ReturnType<typeof uplinkView> & { demand?: DemandView };

export function buildStatus(cfg: Config, w: WorldState, x: StatusExtras) {
  const addrsOf = (index: number) =>
    [...w.addrs.values()].filter((a) => a.index === index).map((a) => `${a.address}/${a.prefixlen}`);
  const byName = new Map([...w.links.values()].map((l) => [l.name, l]));
  const tables = uplinkTables(cfg);
  return {
    daemon: {
      pid: x.pid,
      version: x.version,
      startedAt: x.startedAt,
      config: x.configPath,
      system: x.system,
      starting: x.starting,
      judged: x.judged,
      eventLoop: x.eventLoop,
      reconcileRuns: x.reconcileRuns,
      ...(x.lastError ? { lastError: x.lastError } : {}),
      ...(x.configDiffers ? { configDiffers: x.configDiffers } : {}),
    },
    ...(x.apply ? { apply: x.apply } : {}),
    warnings: x.warnings,
    reconcile: x.reconcile,
    selection: x.selection,
    jobs: x.jobs,
    hooks: x.hooks,
    schedule: x.schedule,
    notify: x.notify,
    announce: x.announce,
    routed: x.routed.map((e) => ({
      lan: e.lan,
      interface: e.interface,
      zone: e.zone,
      prefixes: e.prefixes,
      via: e.via,
      table: e.table,
      fallback: e.fallback,
      ...(e.carriers[0] ? { carrier: e.carriers[0] } : {}),
      // Before the first round is judged the kernel keeps the routes it has: no fallback to report.
      onFallback: x.judged && e.carriers.length === 0,
      ...(x.judged ? {} : { pending: true }),
    })),
    firewall: x.firewall,
    uplinks: Object.entries(cfg.uplinks).map(([name, u]) => {
      const l = byName.get(u.interface);
      return {
        name,
        interface: u.interface,
        mode: u.mode,
        priority: u.priority,
        table: tables.get(name),
        ...x.uplinks[name],
        link: l
          ? { present: true, up: l.up, carrier: l.carrier, operstate: l.operstate }
          : { present: false, up: false, carrier: false, operstate: 'absent' },
        addresses: l ? addrsOf(l.index) : [],
      };
    }),
    links: [...w.links.values()]
      .sort((a, b) => a.index - b.index)
      .map((l) => ({
        index: l.index,
        name: l.name,
        up: l.up,
        carrier: l.carrier,
        operstate: l.operstate,
        mtu: l.mtu,
        ...(l.kind ? { kind: l.kind } : {}),
        addresses: addrsOf(l.index),
      })),
    defaultRoutes: defaultRoutes(w).map((r) => ({
      family: r.family,
      type: r.type,
      table: r.table,
      protocol: r.protocol,
      metric: r.metric,
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.oif ? { dev: linkName(w, r.oif) } : {}),
      linkdown: r.linkdown,
    })),
    foreignRoutes: { ipv4: w.foreign.ipv4, ipv6: w.foreign.ipv6, total: foreignTotal(w.foreign) },
    watch: x.watch,
  };
}

export type Status = ReturnType<typeof buildStatus>;
