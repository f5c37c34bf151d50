/** Plain per-uplink status for `uplink status` (read only). */
import type { UplinkManager } from './manager.js';
import type { Uplink } from './uplink.js';
import { availabilityView } from './availability.js';

/** Which families this uplink may carry now: it has an address of the family and its probes of it pass. */
export function carriedFamilies(m: UplinkManager, u: Readonly<Uplink>): { ipv4: boolean; ipv6: boolean } {
  return { ipv4: !!u.facts.v4 && m.familyOk(u, 4), ipv6: !!u.facts.v6 && m.familyOk(u, 6) };
}

export function uplinkView(m: UplinkManager, u: Readonly<Uplink>) {
  const s = u.health.stats.view();
  const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 100) / 100);
  return {
    state: u.state,
    since: new Date(u.since).toISOString(),
    reason: u.reason,
    /** Seconds up and not up since the daemon started, and the share up. */
    availability: availabilityView(u.availability, u.state, Date.now()),
    selected: m.selection.selected === u.name,
    usable: m.usable(u),
    adopted: u.adopted,
    families: carriedFamilies(m, u),
    adminDown: u.adminDown,
    adminBlocked: u.adminBlocked,
    ...(u.scheduleHeld ? { scheduleHeld: u.scheduleHeld } : {}),
    gateway: u.facts.v4?.gateway ?? u.facts.v6?.gateway,
    /** Each family's gateway (configured, learned from a route or router advertisement, or leased). */
    gateways: { ipv4: u.facts.v4?.gateway, ipv6: u.facts.v6?.gateway },
    probe: {
      rounds: s.rounds,
      sentTotal: u.health.stats.sentTotal,
      lostTotal: u.health.stats.lostTotal,
      passStreak: s.passStreak,
      failStreak: s.failStreak,
      lossPct: round(s.lossPct),
      rttMs: { last: round(s.lastRttMs), avg: round(s.avgRttMs), jitter: round(s.jitterMs) },
    },
    ...(u.dhcp ? { dhcp: u.dhcp.view() } : {}),
    ...(u.driver
      ? {
          dial: {
            attempts: u.driver.dials,
            failures: u.driver.failures,
            failedTotal: u.driver.failedTotal,
            pid: u.driver.pid,
            lastExit: u.driver.lastExit,
            nextDialAt: u.driver.nextDialAt ? new Date(u.driver.nextDialAt).toISOString() : undefined,
            gaveUp: u.driver.gaveUpReason,
          },
        }
      : {}),
  };
}
