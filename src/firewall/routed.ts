/**
 * Rules for routed public prefixes (lan[].routed) and the services opened on them
 * (firewall.forward). NAT is fixed here, never switched by health, because conntrack pins NAT
 * at a flow's first packet: out of a `via` uplink a routed prefix keeps its source; out of any
 * other uplink it is masqueraded (fallback masquerade, by the general rule) or dropped
 * (fallback drop). Only the routing rules follow health (routing/routed.ts).
 */
import { portRange } from '../config/schema-sections.js';
import {
  accept,
  and,
  ct,
  drop,
  eq,
  familyOf,
  ifMatch,
  ipProto,
  isIn,
  meta,
  ne,
  oneOrSet,
  payload,
  portExpr,
  prefix,
  type Expr,
  type Stmt,
} from '../model/nft.js';

export interface RoutedSpec {
  /** Position in `lan` (for comments). */
  lan: number;
  iface: string;
  prefixes: string[];
  /** The `via` uplinks' names and interfaces. */
  via: { name: string; iface: string }[];
  fallback: 'masquerade' | 'drop';
}

export interface ForwardOpen {
  proto: 'tcp' | 'udp';
  port: number | string;
  /** An address or a CIDR. */
  to: string;
  from?: string[];
}

type Rule = { c: string; e: Stmt[] };

const NO_ROUTE: Stmt = { reject: { type: 'icmp', expr: 'net-unreachable' } };

const saddr4 = (prefixes: string[]): Stmt => eq(payload('ip', 'saddr'), oneOrSet(prefixes.map(prefix)));
const viaIfaces = (r: RoutedSpec): string[] => [...new Set(r.via.map((v) => v.iface))].sort();
const what = (r: RoutedSpec) => `lan[${r.lan}] ${r.iface}: routed ${r.prefixes.join(',')}`;

/** Every routed prefix, for the rules about traffic to them. */
export const allPrefixes = (routed: RoutedSpec[]): string[] => [...new Set(routed.flatMap((r) => r.prefixes))].sort();

/** nat_pre, first: the public addresses are the servers' own, never a port forward's. */
export function routedNatPre(routed: RoutedSpec[], wan: string): Rule[] {
  const all = allPrefixes(routed);
  if (!all.length) return [];
  return [
    {
      c: `routed prefixes ${all.join(',')} are servers' own addresses: never port-forwarded`,
      e: [ifMatch('iifname', wan), eq(payload('ip', 'daddr'), oneOrSet(all.map(prefix))), accept],
    },
  ];
}

/**
 * nat_post, before SNAT and masquerade: out of a via uplink a routed prefix keeps its source.
 * A NAT to its own address (a null binding), not a bare accept: accept would let another
 * table's NAT chain (iptables-nft, firewalld, an old `table ip nat`) masquerade it after us.
 */
export function routedNatPost(routed: RoutedSpec[]): Rule[] {
  return routed.map((r) => ({
    c: `${what(r)} keeps its source out of ${r.via.map((v) => v.name).join(',')}`,
    e: [saddr4(r.prefixes), ifMatch('oifname', viaIfaces(r)), { snat: { family: 'ip', addr: payload('ip', 'saddr') } }],
  }));
}

/**
 * forward, before replies are accepted: what a routed prefix must never send out of another
 * uplink, and what must never come in from one with its addresses (spoofed, or looped back by
 * an ISP). With fallback drop: anything but port-forward replies, also into a demand proxy
 * (it would dial for traffic that is refused after the dial). With masquerade: flows that
 * started un-NATed out of a via uplink and were rerouted (they would leave with a foreign
 * source an ISP drops); new flows are masqueraded in nat_post, and the daemon deletes the
 * rerouted flows of other protocols than TCP, which would never end on their own.
 */
export function routedGuard(routed: RoutedSpec[], wan: string, proxies?: string): Rule[] {
  const all = allPrefixes(routed);
  if (!all.length) return [];
  // Replies of a port forward to a routed server leave under the uplink's address (conntrack
  // undoes the DNAT after this hook): they are no traffic "from the prefix" and always pass.
  const notForwarded = eq(and(ct('status'), 'dnat'), 0);
  const out: Rule[] = routedSpoof(routed, wan);
  for (const r of routed) {
    const other = [ne(meta('oifname'), oneOrSet(viaIfaces(r))), notForwarded];
    const base = [saddr4(r.prefixes), ifMatch('oifname', wan), ...other];
    if (r.fallback === 'masquerade') {
      out.push({
        c: `${what(r)}: un-NATed flows never leave through another uplink with their public source`,
        e: [...base, isIn(ct('state'), ['established', 'related']), eq(and(ct('status'), 'snat'), 0), drop],
      });
      continue;
    }
    // Refused, not silently dropped: new connections fail at once, as without a route.
    out.push({ c: `${what(r)} never leaves through another uplink (fallback drop)`, e: [...base, NO_ROUTE] });
    if (proxies)
      out.push({
        c: `${what(r)} dials no demand uplink (fallback drop)`,
        e: [saddr4(r.prefixes), ifMatch('oifname', proxies), notForwarded, NO_ROUTE],
      });
  }
  return out;
}

/** forward and input, first: nothing from an uplink carries a routed source address (spoofed, or looped back). */
export function routedSpoof(routed: RoutedSpec[], wan: string): Rule[] {
  const all = allPrefixes(routed);
  if (!all.length) return [];
  return [
    {
      c: `nothing from an uplink carries the routed source addresses ${all.join(',')}`,
      e: [ifMatch('iifname', wan), saddr4(all), drop],
    },
  ];
}

/** ICMP the routed servers need from the uplinks: path MTU and other errors, and ping. */
const ICMP_IN = ['echo-request', 'destination-unreachable', 'time-exceeded', 'parameter-problem'];
const ICMP6_IN = ['echo-request', 'destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'];

/**
 * forward, before wan → anything else is dropped: ICMP to routed addresses and to IPv6
 * forward targets, and firewall.forward. Never back out of an uplink: a part of a block that
 * is on no LAN interface would otherwise bounce between us and the ISP.
 */
export function routedOpens(routed: RoutedSpec[], opens: ForwardOpen[], wan: string): Rule[] {
  const out: Rule[] = [];
  const inward = [ifMatch('iifname', wan), ne(meta('oifname'), wan)];
  const all = allPrefixes(routed);
  if (all.length)
    out.push({
      c: `ICMP errors and echo requests to routed ${all.join(',')}`,
      e: [
        ...inward,
        eq(payload('ip', 'daddr'), oneOrSet(all.map(prefix))),
        eq(payload('icmp', 'type'), { set: ICMP_IN }),
        accept,
      ],
    });
  const v6 = [...new Set(opens.map((o) => o.to).filter((to) => familyOf(to) === 6))].sort();
  if (v6.length)
    out.push({
      c: `ICMPv6 errors and echo requests to IPv6 forward targets ${v6.join(',')}`,
      e: [
        ...inward,
        eq(payload('ip6', 'daddr'), oneOrSet(v6.map(addrOrPrefix))),
        eq(payload('icmpv6', 'type'), { set: ICMP6_IN }),
        accept,
      ],
    });
  opens.forEach((o, index) => {
    const { first, last } = portRange(o.port);
    const family = familyOf(o.to.split('/')[0]!);
    const name = `firewall.forward[${index}]: ${o.proto} ${first === last ? first : `${first}-${last}`} to ${o.to}`;
    const from: Expr[] = [...new Set(o.from ?? [])].sort().map(prefix);
    out.push({
      c: `${name} open from ${o.from ? o.from.join(',') : 'the uplinks'}`,
      e: [
        ...inward,
        eq(payload(ipProto(family), 'daddr'), addrOrPrefix(o.to)),
        ...(from.length ? [eq(payload(ipProto(family), 'saddr'), oneOrSet(from))] : []),
        eq(payload(o.proto, 'dport'), portExpr(first, last)),
        accept,
      ],
    });
  });
  return out;
}

const addrOrPrefix = (to: string): Expr => (to.includes('/') ? prefix(to) : to);
