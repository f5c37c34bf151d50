/** One configured uplink at run time: its state, health checker and (for connect commands) its driver. */
import type { Config, UplinkConfig } from '../config/schema.js';
import { resolveProbe } from '../config/probe.js';
import type { CommandDriver } from './command.js';
import type { DhcpClient } from './dhcp.js';
import type { HealthChecker } from './health.js';
import type { LinkFacts } from './facts.js';
import type { Thresholds, UplinkState } from './state.js';
import type { SavedUplink } from './persist.js';
import { newAvailability, type Availability } from './availability.js';

export interface Uplink {
  name: string;
  cfg: UplinkConfig;
  table: number;
  /** Position in config order: rule priorities and the last tie-breaker. */
  index: number;
  state: UplinkState;
  since: number;
  reason: string;
  /** Time up and not up since this daemon started (not persisted: per run). */
  availability: Availability;
  /** Taken over from the state file as up, and not judged yet. */
  adopted: boolean;
  adminDown: boolean;
  adminBlocked: boolean;
  /** Parked by a pending apply: whether its connection is kept up meanwhile. */
  parkedWant?: boolean;
  /** Held blocked by a schedule window now, and why (level-triggered: not persisted). */
  scheduleHeld?: string;
  /** `uplink up` on a manual or demand uplink. */
  dialRequested: boolean;
  /** A demand uplink that traffic asked for (cleared by an idle hang-up). */
  demandWanted: boolean;
  /** Demand dialing switched off at run time (`uplink demand NAME off`). */
  demandOff: boolean;
  /** Why the last hang-up the manager asked for happened (idle, max_up): no holdoff after it. */
  hangupWhy?: 'idle' | 'max_up';
  goodSince?: number;
  /**
   * The link went away (carrier, interface, address) after it had carried traffic: coming
   * back it must pass up_after rounds, as a failed one must, or a flapping carrier would move
   * routes on every flap.
   */
  returning?: boolean;
  facts: LinkFacts;
  factsKey: string;
  /** Per family: it has a gateway but its table holds no default route of ours through it. */
  tableMissing: { 4: boolean; 6: boolean };
  /** No router-advertised IPv6 default seen on the link yet: when to solicit routers next. */
  solicit?: { sent: number; nextAt: number };
  /** Our `from <address> lookup <table>` rule is in place: probes leave through this uplink. */
  routed: boolean;
  health: HealthChecker;
  driver?: CommandDriver;
  /** `address: dhcp`: the uplink's DHCP client. */
  dhcp?: DhcpClient;
  /** The DHCP address to put on the link and earlier ones to take off (the last judgement's). */
  dhcpWant?: { address?: string; drop: string[] };
}

/** No explicit targets means the live gateway of each family (configured or learned): the health checker fills them in. */
export function effectiveProbe(cfg: Config, u: UplinkConfig) {
  return resolveProbe(u.probe, cfg.defaults.probe);
}

export function thresholds(cfg: Config, u: UplinkConfig): Thresholds {
  const p = effectiveProbe(cfg, u);
  const q = u.quality;
  return {
    downAfter: p.down_after,
    upAfter: p.up_after,
    failureLossPct: q.failure_loss,
    recoveryLossPct: q.recovery_loss,
    failureLatencyMs: q.failure_latency,
    recoveryLatencyMs: q.recovery_latency ?? q.failure_latency,
  };
}

/** Whether probing makes sense now, and from where. */
/**
 * The uplink's table has its default route for some family with a gateway (or needs none).
 * Before it, a probe from the uplink's address meets the table's unreachable default and fails
 * at once: three such rounds right after a dial judged a good link failed and hung it up.
 */
export function tableRouted(u: Readonly<Uplink>): boolean {
  const fams = ([4, 6] as const).filter((fam) => u.facts[fam === 4 ? 'v4' : 'v6']?.gateway);
  return fams.length === 0 || fams.some((fam) => !u.tableMissing[fam]);
}

export function probeReady(u: Uplink): boolean {
  const f = u.facts;
  // Before our rule exists a probe would leave through whatever is selected and judge the wrong link.
  return (
    u.routed &&
    tableRouted(u) &&
    f.present &&
    f.carrier &&
    !!(f.v4?.gateway || f.v6?.gateway || u.cfg.probe?.targets?.length) &&
    !!(f.v4 || f.v6)
  );
}

/**
 * A configured uplink at start or when a reload adds it, resumed from its state file entry:
 * an uplink that was up or degraded is adopted (usable until its first probe round).
 * Its health checker and driver are the manager's to attach.
 */
export function newUplink(
  name: string,
  index: number,
  table: number,
  cfg: UplinkConfig,
  saved: SavedUplink | undefined,
): Uplink {
  return {
    name,
    cfg,
    table,
    index,
    state: saved?.state ?? 'down',
    since: saved?.since ?? Date.now(),
    reason: saved ? 'adopted from the state file' : 'starting',
    availability: newAvailability(Date.now()),
    adopted: saved?.state === 'up' || saved?.state === 'degraded',
    adminDown: saved?.adminDown ?? false,
    adminBlocked: saved?.adminBlocked ?? false,
    dialRequested: saved?.dialRequested ?? false,
    demandWanted: saved?.demandWanted ?? false,
    demandOff: saved?.demandOff ?? false,
    facts: { present: false, carrier: false },
    factsKey: '',
    tableMissing: { 4: false, 6: false },
    routed: false,
    health: undefined as unknown as HealthChecker,
  };
}

/** What the state file keeps of an uplink. */
export function savedUplink(u: Readonly<Uplink>): SavedUplink {
  return {
    state: u.state,
    since: u.since,
    adminDown: u.adminDown,
    adminBlocked: u.adminBlocked,
    dialRequested: u.dialRequested,
    ...(u.demandWanted ? { demandWanted: true } : {}),
    ...(u.demandOff ? { demandOff: true } : {}),
    ...(u.driver?.pid ? { pid: u.driver.pid, startTime: u.driver.startTime } : {}),
    ...(u.driver
      ? { dial: { failures: u.driver.failures, gaveUp: u.driver.gaveUpReason, nextDialAt: u.driver.nextDialAt } }
      : {}),
    ...(u.dhcp ? { dhcp: u.dhcp.saved() } : {}),
  };
}
