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

/** nat_post, before SNAT and masquerade: out of a via uplink a routed prefix keeps its source. */
export function routedNatPost(routed: RoutedSpec[]): Rule[] {
  return routed.map((r) => ({
    c: `${what(r)} keeps its source out of ${r.via.map((v) => v.name).join(',')}`,
    e: [saddr4(r.prefixes), ifMatch('oifname', viaIfaces(r)), accept],
  }));
}

/**
 * forward, before replies are accepted: what a routed prefix must never send out of another
 * uplink. With fallback drop: anything but port-forward replies. With masquerade: flows that
 * started un-NATed out of a via uplink and were rerouted (they would leave with a foreign source an ISP drops; they
 * resume when the via uplink is back). New flows are masqueraded in nat_post.
 */
export function routedGuard(routed: RoutedSpec[], wan: string): Rule[] {
  // Replies of a port forward to a routed server leave under the uplink's address (conntrack
  // undoes the DNAT after this hook): they are no traffic "from the prefix" and always pass.
  const notForwarded = eq(and(ct('status'), 'dnat'), 0);
  return routed.map((r) => {
    const base = [
      saddr4(r.prefixes),
      ifMatch('oifname', wan),
      ne(meta('oifname'), oneOrSet(viaIfaces(r))),
      notForwarded,
    ];
    // Refused, not silently dropped: new connections fail at once, as without a route.
    return r.fallback === 'drop'
      ? { c: `${what(r)} never leaves through another uplink (fallback drop)`, e: [...base, NO_ROUTE] }
      : {
          c: `${what(r)}: un-NATed flows never leave through another uplink with their public source`,
          e: [...base, isIn(ct('state'), ['established', 'related']), eq(and(ct('status'), 'snat'), 0), drop],
        };
  });
}

/** ICMP the routed servers need from the uplinks: path MTU and other errors, and ping. */
const ICMP_IN = ['echo-request', 'destination-unreachable', 'time-exceeded', 'parameter-problem'];

/** forward, before wan → anything else is dropped: ICMP to routed addresses, and firewall.forward. */
export function routedOpens(routed: RoutedSpec[], opens: ForwardOpen[], wan: string): Rule[] {
  const out: Rule[] = [];
  const all = allPrefixes(routed);
  if (all.length)
    out.push({
      c: `ICMP errors and echo requests to routed ${all.join(',')}`,
      e: [
        ifMatch('iifname', wan),
        eq(payload('ip', 'daddr'), oneOrSet(all.map(prefix))),
        eq(payload('icmp', 'type'), { set: ICMP_IN }),
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
        ifMatch('iifname', wan),
        eq(payload(ipProto(family), 'daddr'), o.to.includes('/') ? prefix(o.to) : o.to),
        ...(from.length ? [eq(payload(ipProto(family), 'saddr'), oneOrSet(from))] : []),
        eq(payload(o.proto, 'dport'), portExpr(first, last)),
        accept,
      ],
    });
  });
  return out;
}
