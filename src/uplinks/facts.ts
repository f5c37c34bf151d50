/** What the kernel says about one uplink's interface: the inputs of its state machine and routes. */
import type { UplinkConfig } from '../config/schema.js';
import type { WorldState } from '../world/state.js';
import { canonicalIp } from '../model/ip.js';

export interface FamilyFacts {
  address: string;
  gateway?: string;
}

export interface LinkFacts {
  present: boolean;
  index?: number;
  carrier: boolean;
  v4?: FamilyFacts;
  v6?: FamilyFacts;
}

const SCOPE_UNIVERSE = 0;

/**
 * The gateway: configured, else the DHCP lease's, else the main table's default route through
 * this link whatever its metric (the lowest wins: a second uplink's DHCP client must use
 * another metric than the first's, or its route is refused), else the point-to-point peer.
 */
function gatewayOf(
  w: WorldState,
  index: number,
  family: 4 | 6,
  configured: string | undefined,
  peer: string | undefined,
): string | undefined {
  if (configured) return canonicalIp(configured);
  let best: { gw: string; metric: number } | undefined;
  for (const r of w.routes.values()) {
    if (r.family !== family || r.table !== 254 || r.dstLen !== 0 || r.oif !== index || !r.gateway) continue;
    if (!best || r.metric < best.metric) best = { gw: r.gateway, metric: r.metric };
  }
  return best?.gw ?? peer;
}

/** The configured IPv6 gateway; without one, the uplink learns it from router advertisements. */
export function staticGateway6(cfg: Pick<UplinkConfig, 'gateway' | 'gateway6'>): string | undefined {
  return cfg.gateway6 ?? (cfg.gateway?.includes(':') ? cfg.gateway : undefined);
}

/** Whether the main table holds an IPv6 default route through this link (a router advertised one). */
export function hasIpv6Default(w: WorldState, index: number | undefined): boolean {
  for (const r of w.routes.values())
    if (r.family === 6 && r.table === 254 && r.dstLen === 0 && r.oif === index && r.gateway) return true;
  return false;
}

/** What an `address: dhcp` uplink's client holds now. */
export interface LeasedAddress {
  address: string;
  gateway?: string;
}

/**
 * `lease`: for `address: dhcp` uplinks, the lease now (undefined: none). Their IPv4 address is
 * the leased one once it is on the link, never another (an earlier lease's address, on its
 * way off the link, must not get rules).
 */
export function linkFacts(w: WorldState, cfg: UplinkConfig, lease?: LeasedAddress): LinkFacts {
  const link = [...w.links.values()].find((l) => l.name === cfg.interface);
  if (!link) return { present: false, carrier: false };
  const facts: LinkFacts = { present: true, index: link.index, carrier: link.carrier && link.up };
  const dhcp = cfg.address === 'dhcp';
  const static4 = cfg.gateway?.includes(':') ? undefined : cfg.gateway;
  const gw4 = static4 ?? (dhcp ? lease?.gateway : undefined);
  const gw6 = staticGateway6(cfg);
  const mine = [...w.addrs.values()].filter(
    (a) =>
      a.index === link.index && a.scope === SCOPE_UNIVERSE && (!dhcp || a.family === 6 || a.address === lease?.address),
  );
  // A configured static address is the uplink's address once it is on the link.
  const wanted = cfg.address?.split('/')[0];
  mine.sort((a, b) => Number(b.address === wanted) - Number(a.address === wanted));
  for (const a of mine) {
    if (a.family === 4 && !facts.v4)
      facts.v4 = { address: a.address, gateway: gatewayOf(w, link.index, 4, gw4, a.peer) };
    if (a.family === 6 && !facts.v6)
      facts.v6 = { address: a.address, gateway: gatewayOf(w, link.index, 6, gw6, a.peer) };
  }
  return facts;
}

/** A change here means: judge the link afresh, and probe at once (a late DHCP gateway included). */
export const factsKey = (f: LinkFacts) =>
  `${f.index}|${f.carrier}|${f.v4?.address}|${f.v4?.gateway}|${f.v6?.address}|${f.v6?.gateway}`;

/**
 * Per family: the uplink has an address and gateway of it, but its own table holds no default
 * route of ours through that gateway — a probe to the gateway (it leaves by the connected route)
 * would pass while everything from the uplink's address finds only `unreachable`.
 */
export function missingTableDefault(
  w: WorldState,
  f: LinkFacts,
  table: number,
  protocol: number,
): { 4: boolean; 6: boolean } {
  const has = (family: 4 | 6, gw: string) => {
    for (const r of w.routes.values())
      if (
        r.family === family &&
        r.table === table &&
        r.dstLen === 0 &&
        r.type === 'unicast' &&
        r.protocol === protocol &&
        r.oif === f.index &&
        r.gateway === gw
      )
        return true;
    return false;
  };
  return {
    4: !!(f.v4?.gateway && !has(4, f.v4.gateway)),
    6: !!(f.v6?.gateway && !has(6, f.v6.gateway)),
  };
}
