/**
 * Desired routes and rules: a pure function of the uplinks' facts and the
 * selection (docs/uplinks.md, "What uplinkd puts in the kernel"):
 * - each uplink's table: its default route, and `unreachable default metric
 *   4294967295` so a lookup never falls through to another uplink;
 * - rules: `lookup main suppress_prefixlength 0` first (LAN and connected routes
 *   win), `from <uplink address> lookup <uplink table>` (probes and replies leave
 *   the way they came), `from <routed prefix> lookup <routed table>`, then
 *   `lookup <selection table>`;
 * - each routed LAN entry's table: its usable `via` uplinks' defaults, best first; empty when
 *   none is usable, so lookups fall through to the selection. Never `unreachable`, also not for
 *   `fallback: drop` (the ruleset drops that): rp_filter's reverse-path lookup of a port
 *   forward to a routed server takes the same rule and would drop the forward too;
 * - the selection table: the selected uplink's default, then the next
 *   candidates at higher metrics, so the kernel switches by itself on carrier loss,
 *   and last the demand proxies (dial on demand).
 * The main table is never written.
 */
import type { AddrSpec, RouteSpec, RuleSpec } from '../model/ops.js';
import type { Family } from '../model/kernel.js';
import type { LinkFacts } from '../uplinks/facts.js';
import type { KernelRanges } from './tables.js';
import type { RoutedEntry } from './routed.js';

export const LAST_RESORT_METRIC = 4294967295;
/**
 * The uplink table's default route. Not 0: the kernel stores an IPv6 route of
 * metric 0 as 1024, so a planner keyed by metric would never find it again.
 */
export const UPLINK_DEFAULT_METRIC = 10;
export const SELECTION_METRIC_BASE = 100;
/**
 * A demand uplink's proxy route: after every real candidate, so traffic reaches the proxy
 * (and dials) only when no better usable uplink is there; permanent, so there is never a
 * moment without a route.
 */
export const PROXY_METRIC_BASE = 1000;

export interface RoutedUplink {
  name: string;
  table: number;
  index: number;
  dev: string;
  facts: LinkFacts;
  /** `address:` from the config (CIDR), put on the link if it is missing. */
  staticAddress?: string;
  /** `address: dhcp`: the leased address (CIDR) to put on the link, and earlier leased ones to take off it. */
  dhcp?: { address?: string; drop: string[] };
  /** The demand proxy (TUN) of this uplink, when it is open. */
  proxyDev?: string;
  /** The uplink may carry this family (its probes of the family pass); default true. */
  familyOk?: Record<Family, boolean>;
}

export interface DesiredKernel {
  routes: RouteSpec[];
  rules: RuleSpec[];
  addrs: AddrSpec[];
  /** Addresses of ours to take off their links (earlier DHCP leases), if they are there. */
  addrDels: AddrSpec[];
}

/** An address op's spec from `A/LEN` (either family) on `dev`. */
export function addrSpec(cidr: string, dev: string): AddrSpec {
  const [address, len] = cidr.split('/') as [string, string];
  return { family: address.includes(':') ? 6 : 4, address, prefixlen: Number(len), dev };
}

const any = (f: Family) => (f === 4 ? '0.0.0.0' : '::');
const famKey = (f: Family): 'v4' | 'v6' => (f === 4 ? 'v4' : 'v6');

export function rulePriorities(k: KernelRanges) {
  return {
    suppressMain: k.rule_priority_base,
    uplink: (index: number) => k.rule_priority_base + 10 + index,
    /** Replies to connections that came in on an uplink (ct mark restored to the packet mark). */
    ingress: (index: number) => k.rule_priority_base + 50 + index,
    /**
     * Routed prefixes: after the ingress rules (replies leave the way their connection came),
     * before the selection. One priority for all: routed prefixes never overlap.
     */
    routed: k.rule_priority_base + k.rule_priority_count - 11,
    selection: k.rule_priority_base + k.rule_priority_count - 10,
  };
}

/** The ingress mark of an uplink: its config position + 1, inside our fwmark mask. */
export function ingressMark(k: KernelRanges, index: number): number {
  const mask = k.fwmark_mask >>> 0;
  const shift = Math.clz32(1) - Math.clz32(mask & -mask);
  return (((index + 1) << shift) & mask) >>> 0;
}

export function desiredKernel(
  uplinks: RoutedUplink[],
  order: string[],
  selectionTable: number,
  k: KernelRanges,
  routed: readonly RoutedEntry[] = [],
): DesiredKernel {
  const proto = k.route_protocol;
  const prio = rulePriorities(k);
  const out: DesiredKernel = { routes: [], rules: [], addrs: [], addrDels: [] };
  const def = (family: Family, table: number, metric: number, dev: string, gateway: string | undefined): RouteSpec => ({
    family,
    table,
    protocol: proto,
    type: 'unicast',
    dst: any(family),
    dstLen: 0,
    metric,
    dev,
    ...(gateway ? { gateway } : {}),
  });
  /** Ends a table (for `dst`, default everything): a lookup never falls through to a later rule. */
  const unreachable = (family: Family, table: number, dst = any(family), dstLen = 0): RouteSpec => ({
    family,
    table,
    protocol: proto,
    type: 'unreachable',
    dst,
    dstLen,
    metric: LAST_RESORT_METRIC,
  });
  for (const u of uplinks) {
    const add = u.staticAddress ?? u.dhcp?.address;
    if (add && u.facts.present) out.addrs.push(addrSpec(add, u.dev));
    for (const cidr of u.dhcp?.drop ?? []) out.addrDels.push(addrSpec(cidr, u.dev));
    for (const family of [4, 6] as const) {
      out.routes.push(unreachable(family, u.table));
      const f = u.facts[famKey(family)];
      if (!u.facts.present || !f) continue;
      if (f.gateway) out.routes.push(def(family, u.table, UPLINK_DEFAULT_METRIC, u.dev, f.gateway));
      out.rules.push({ family, priority: prio.uplink(u.index), table: u.table, protocol: proto, src: f.address });
      out.rules.push({
        family,
        priority: prio.ingress(u.index),
        table: u.table,
        protocol: proto,
        fwmark: ingressMark(k, u.index),
        fwmask: k.fwmark_mask >>> 0,
      });
    }
  }
  if (!uplinks.length) return out;
  const byName = new Map(uplinks.map((u) => [u.name, u]));
  order.forEach((name, rank) => {
    const u = byName.get(name);
    for (const family of [4, 6] as const) {
      const f = u?.facts[famKey(family)];
      if (u?.facts.present && f?.gateway && u.familyOk?.[family] !== false)
        out.routes.push(def(family, selectionTable, SELECTION_METRIC_BASE + rank, u.dev, f.gateway));
    }
  });
  for (const u of uplinks) {
    if (u.proxyDev)
      out.routes.push({
        family: 4,
        table: selectionTable,
        protocol: proto,
        type: 'unicast',
        dst: '0.0.0.0',
        dstLen: 0,
        metric: PROXY_METRIC_BASE + u.index,
        dev: u.proxyDev,
      });
  }
  for (const e of routed) {
    e.carriers.forEach((name, rank) => {
      const u = byName.get(name);
      const gw = u?.facts.present ? u.facts.v4?.gateway : undefined;
      if (u && gw) out.routes.push(def(4, e.table, SELECTION_METRIC_BASE + rank, u.dev, gw));
    });
    for (const p of e.prefixes) {
      const [src, len] = p.split('/') as [string, string];
      out.rules.push({ family: 4, priority: prio.routed, table: e.table, protocol: proto, src, srcLen: Number(len) });
      // A part of the block on no LAN interface (and with no route of yours) is unreachable,
      // not sent back to the ISP, which routes it to us again until the TTL runs out.
      for (const t of [e.table, selectionTable]) out.routes.push(unreachable(4, t, src, Number(len)));
    }
  }
  for (const family of [4, 6] as const) {
    out.rules.push({ family, priority: prio.suppressMain, table: 254, protocol: proto, suppressPrefixlen: 0 });
    out.rules.push({ family, priority: prio.selection, table: selectionTable, protocol: proto });
  }
  return out;
}
