/**
 * The firewall renderer (pure): FirewallInput → libnftables JSON for `nft -j -f FILE`.
 *
 * Everything lives in our own `table inet uplinkd` (docs/architecture.md, principle 4) and is replaced
 * atomically in one batch: add table (so the delete cannot fail), delete table, add table
 * with its contents. Base chains have policy accept: we never lock out traffic we do not
 * own; only what arrives on an uplink is dropped unless allowed.
 *
 *   sets        wan_ifaces, zone_<zone>, generation (our marker for tamper detection)
 *   maps        fwd{4,6}_{tcp,udp}[_port], fwd{4,6}_{tcp,udp}_keep: port forwards (forwards.ts)
 *   mangle_pre  ct mark per uplink on new inbound connections; restore it as the packet
 *               mark on replies from the LAN, so a fwmark rule routes them back out the
 *               uplink the connection came in on
 *   nat_pre     port forwards (DNAT), only for packets from the uplinks and never to routed prefixes
 *   nat_post    routed prefixes keep their source out of their via uplinks; SNAT to an uplink's
 *               fixed address (`snat`), else masquerade IPv4 out of every uplink, always
 *               (docs/platform-notes.md: conntrack pins NAT at a flow's first packet); never
 *               into anything else
 *   forward     MSS clamp, routed prefixes' guard, established, DNATed, zone policy, ICMP and
 *               firewall.forward to routed addresses, wan → anything else dropped
 *   input       from the uplinks: established, ICMP, DHCPv6 replies, DHCP answers on DHCP uplinks, opened ports, drop
 */
import { portRange } from '../config/schema-sections.js';
import { renderDemand, type DemandNftInput } from '../demand/nft.js';
import { hairpinDnat, hairpinMasquerade, WAN_ADDRS4 } from './hairpin.js';
import {
  routedGuard,
  routedNatPost,
  routedNatPre,
  routedOpens,
  routedSpoof,
  type ForwardOpen,
  type RoutedSpec,
} from './routed.js';
import {
  planForwards,
  type DnatMap,
  type DnatMapEntry,
  type DnatRule,
  type ForwardPlan,
  type ForwardSpec,
} from './forwards.js';
import {
  FAMILY,
  TABLE,
  accept,
  and,
  comment,
  ct,
  drop,
  eq,
  familyOf,
  hex32,
  ifMatch,
  ipProto,
  isIn,
  mangle,
  meta,
  ne,
  oneOrSet,
  or,
  payload,
  portExpr,
  prefix,
  zoneSet,
  type Expr,
  type Json,
  type Stmt,
} from '../model/nft.js';

export { planForwards, parseTarget } from './forwards.js';
export type { DnatMap, DnatMapEntry, DnatRule, ForwardNote, ForwardPlan, ForwardSpec } from './forwards.js';

export interface FirewallInput {
  /** Every configured uplink: zone wan. mark = its ingress mark value (already shifted into the mask). */
  /** `dhcp`: the uplink runs our DHCP client (its server's broadcast ACKs and NAKs are let in). */
  uplinks: { name: string; iface: string; mark: number; snat?: string; dhcp?: boolean }[];
  /** `lan` entries: interface → zone (lan, dmz, …). */
  zones: { iface: string; zone: string }[];
  /** Port forwards, from config `forwards`. */
  forwards: ForwardSpec[];
  /** Routed LAN entries (lan[].routed): public prefixes that keep their source out of their via uplinks. */
  routed?: RoutedSpec[];
  /** firewall.forward: services on routed addresses that the uplinks may reach. */
  forwardOpens?: ForwardOpen[];
  /** Input to the gateway from the uplinks that the config opens (everything else from wan is dropped). */
  input: { proto: 'tcp' | 'udp'; port: number | string; from?: string[] }[];
  /** Clamp TCP MSS to the route MTU on SYNs leaving through an uplink (config firewall.mss_clamp; default true). */
  mssClamp?: boolean;
  fwmarkMask: number;
  /**
   * The mark our probes carry (control.kernel.fwmark): ICMP probes with it are not tracked, so
   * probing leaves no conntrack entries (two `fast` uplinks kept ~200 alive).
   */
  probeMark?: number;
  generation: number;
  /** The uplinks' IPv4 addresses now: hairpin forwards match LAN packets sent to them. */
  wanAddrs4?: string[];
  /** Demand uplinks: proxy zone, notrack into the proxies, keep-up accounting (demand/nft.ts). */
  demand?: DemandNftInput;
}

export const WAN_SET = 'wan_ifaces';
export const GENERATION_SET = 'generation';
const PROBE_CHAIN = 'probe_out';
export const PROXY_SET = 'proxy_ifaces';
export { zoneSet };

/** Chain name → [type, hook, priority number] (dstnat -100, mangle -150, srcnat 100, filter 0). */
export const CHAINS = {
  mangle_pre: ['filter', 'prerouting', -150],
  nat_pre: ['nat', 'prerouting', -100],
  nat_post: ['nat', 'postrouting', 100],
  forward: ['filter', 'forward', 0],
  input: ['filter', 'input', 0],
} as const;
type ChainName = keyof typeof CHAINS;

const U32 = 0x1_0000_0000;
const ids = { family: FAMILY, table: TABLE };
const WAN = `@${WAN_SET}`;

/** The whole batch for `nft -j -f`: replace only our `table inet uplinkd` atomically. */
export function renderRuleset(i: FirewallInput): { nftables: unknown[] } {
  const table = { table: { family: FAMILY, name: TABLE } };
  return {
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { add: table },
      { delete: table },
      { add: table },
      ...renderTable(i)
        .nftables.slice(1)
        .map((o) => ({ add: o })),
    ],
  };
}

/** Just the table contents (what `nft -j list table inet uplinkd` should show), for comparisons and --dry-run. */
export function renderTable(i: FirewallInput): { nftables: unknown[] } {
  const mask = i.fwmarkMask >>> 0;
  checkMarks(i.uplinks, mask);
  if (!Number.isSafeInteger(i.generation) || i.generation < 0)
    throw new Error(`generation ${i.generation} is not a non-negative integer`);
  const plan = planForwards(i.forwards, i.uplinks);
  const zones = zoneMembers(i.zones);
  const routed = i.routed ?? [];

  const out: Json[] = [{ table: { family: FAMILY, name: TABLE } }];
  const set = (name: string, type: string, elem: Json[]) =>
    out.push({ set: { ...ids, name, type, ...(elem.length ? { elem } : {}) } });
  set(WAN_SET, 'ifname', [...new Set(i.uplinks.map((u) => u.iface))].sort());
  for (const [zone, ifaces] of zones) set(zoneSet(zone), 'ifname', ifaces);
  set(GENERATION_SET, 'mark', [i.generation % U32]);
  set(WAN_ADDRS4, 'ipv4_addr', [...new Set(i.wanAddrs4 ?? [])].sort());
  for (const m of plan.maps) out.push(...renderMaps(m));
  const demand = renderDemand(i.demand ?? { uplinks: [], rules: [], fwmarkMask: mask });
  const proxies = (i.demand?.uplinks ?? []).map((u) => u.proxy);
  if (proxies.length) set(PROXY_SET, 'ifname', [...new Set(proxies)].sort());
  for (const s of demand.sets) out.push({ set: { ...ids, ...(s as { set: object }).set } });

  const chains: [ChainName, { c: string; e: Stmt[] }[]][] = [
    ['mangle_pre', manglePre(i.uplinks, mask)],
    ['nat_pre', [...routedNatPre(routed, WAN), ...natPre(plan), ...hairpinDnat(i.forwards)]],
    [
      'nat_post',
      [
        ...routedNatPost(routed),
        ...snat(i.uplinks),
        {
          c: 'masquerade IPv4 out of every uplink, always',
          e: [eq(meta('nfproto'), 'ipv4'), ifMatch('oifname', WAN), { masquerade: null }],
        },
        ...hairpinMasquerade(i.forwards),
      ],
    ],
    ['forward', forward([...zones.keys()], i.mssClamp !== false, proxies.length > 0, routed, i.forwardOpens ?? [])],
    [
      'input',
      input(
        i.input,
        i.uplinks.filter((u) => u.dhcp).map((u) => u.iface),
        routed,
      ),
    ],
  ];
  for (const [name] of chains) {
    const [type, hook, prio] = CHAINS[name];
    out.push({ chain: { ...ids, name, type, hook, prio, policy: 'accept' } });
  }
  for (const [name, hook, prio] of demand.baseChains)
    out.push({ chain: { ...ids, name, type: 'filter', hook, prio, policy: 'accept' } });
  if (i.probeMark !== undefined) {
    // Raw priority: before conntrack sees them. The replies then arrive untracked (ct state
    // invalid): the input chain accepts ICMP from the uplinks whatever its state.
    out.push({ chain: { ...ids, name: PROBE_CHAIN, type: 'filter', hook: 'output', prio: -300, policy: 'accept' } });
    out.push({
      rule: {
        ...ids,
        chain: PROBE_CHAIN,
        comment: comment('our ICMP probes leave no conntrack entries'),
        expr: [
          eq({ '&': [meta('mark'), mask] }, i.probeMark >>> 0),
          eq(meta('l4proto'), { set: ['icmp', 'icmpv6'] }),
          { notrack: null },
        ],
      },
    });
  }
  for (const name of demand.regularChains) out.push({ chain: { ...ids, name } });
  for (const [chain, rules] of chains) {
    for (const r of rules) out.push({ rule: { ...ids, chain, comment: comment(r.c), expr: r.e } });
  }
  for (const r of demand.rules) out.push({ rule: { ...ids, chain: r.chain, comment: comment(r.c), expr: r.e } });
  return { nftables: out };
}

/** The generation marker in `nft -j list table inet uplinkd` output; undefined when missing. */
export function readGeneration(listing: unknown): number | undefined {
  const items = (listing as { nftables?: unknown } | undefined)?.nftables;
  if (!Array.isArray(items)) return undefined;
  for (const o of items) {
    const s = (o as { set?: { family?: string; table?: string; name?: string; elem?: unknown } }).set;
    if (s?.family === FAMILY && s.table === TABLE && s.name === GENERATION_SET) {
      const e = Array.isArray(s.elem) ? s.elem[0] : s.elem;
      return typeof e === 'number' ? e : undefined;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------

function checkMarks(uplinks: FirewallInput['uplinks'], mask: number): void {
  const seen = new Map<number, string>();
  for (const u of uplinks) {
    const v = u.mark >>> 0;
    if (!Number.isInteger(u.mark) || v === 0 || (v & ~mask) >>> 0 !== 0) {
      throw new Error(`uplink ${u.name}: mark ${hex32(u.mark)} is not a non-zero value inside mask ${hex32(mask)}`);
    }
    if (seen.has(v)) throw new Error(`uplinks ${seen.get(v)} and ${u.name} share mark ${hex32(v)}`);
    seen.set(v, u.name);
  }
}

function zoneMembers(zones: FirewallInput['zones']): Map<string, string[]> {
  const by = new Map<string, Set<string>>();
  for (const z of zones) (by.get(z.zone) ?? by.set(z.zone, new Set()).get(z.zone)!).add(z.iface);
  return new Map([...by.keys()].sort().map((z) => [z, [...by.get(z)!].sort()]));
}

/** A forward map pair (address map + port map), or one keep-port interval map. */
function renderMaps(m: DnatMap): Json[] {
  const key = (e: DnatMapEntry) => portExpr(e.first, e.last);
  const map = (name: string, type: string, elem: Json[], interval: boolean): Json => ({
    map: { ...ids, name, type: 'inet_service', map: type, ...(interval ? { flags: ['interval'] } : {}), elem },
  });
  const addrType = m.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  // Keep-port maps are intervals to addresses; the others pair an address map with a port map.
  const addrs = map(
    m.name,
    addrType,
    m.entries.map((e) => [key(e), e.addr]),
    m.keepPort,
  );
  if (m.keepPort) return [addrs];
  return [
    addrs,
    map(
      portMap(m.name),
      'inet_service',
      m.entries.map((e) => [key(e), e.port!]),
      false,
    ),
  ];
}

export const portMap = (name: string): string => `${name}_port`;

function manglePre(uplinks: FirewallInput['uplinks'], mask: number): { c: string; e: Stmt[] }[] {
  const keep = ~mask >>> 0;
  const out: { c: string; e: Stmt[] }[] = [];
  for (const u of uplinks) {
    const v = u.mark >>> 0;
    out.push({
      c: `uplink ${u.name}: mark new connections coming in on ${u.iface} (${hex32(v)})`,
      e: [ifMatch('iifname', u.iface), isIn(ct('state'), 'new'), mangle(ct('mark'), or(and(ct('mark'), keep), v))],
    });
  }
  for (const u of uplinks) {
    const v = u.mark >>> 0;
    out.push({
      c: `uplink ${u.name}: replies to its inbound connections get fwmark ${hex32(v)} (routed back out ${u.iface})`,
      e: [ne(meta('iifname'), WAN), eq(and(ct('mark'), mask), v), mangle(meta('mark'), or(and(meta('mark'), keep), v))],
    });
  }
  return out;
}

/** Uplinks with a fixed SNAT address: before the masquerade rule, which catches the rest. */
function snat(uplinks: FirewallInput['uplinks']): { c: string; e: Stmt[] }[] {
  return uplinks.flatMap((u) =>
    u.snat
      ? [
          {
            c: `uplink ${u.name}: SNAT IPv4 out of ${u.iface} to ${u.snat}`,
            e: [eq(meta('nfproto'), 'ipv4'), ifMatch('oifname', u.iface), { snat: { family: 'ip', addr: u.snat } }],
          },
        ]
      : [],
  );
}

function natPre(plan: ForwardPlan): { c: string; e: Stmt[] }[] {
  const rule = (r: DnatRule): { c: string; e: Stmt[] } => {
    const ports = r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`;
    const to = r.port === undefined ? r.addr : r.family === 6 ? `[${r.addr}]:${r.port}` : `${r.addr}:${r.port}`;
    return {
      c: `forwards[${r.index}]: ${r.proto} ${ports} to ${to}${r.ifaces ? ` on ${r.ifaces.join(',')}` : ''}${r.from.length ? ` from ${r.from.join(',')}` : ''}`,
      e: [
        ifMatch('iifname', r.ifaces ?? WAN),
        ...(r.from.length ? [eq(payload(ipProto(r.family), 'saddr'), oneOrSet(r.from.map(prefix)))] : []),
        eq(payload(r.proto, 'dport'), portExpr(r.first, r.last)),
        { dnat: { family: ipProto(r.family), addr: r.addr, ...(r.port === undefined ? {} : { port: r.port }) } },
      ],
    };
  };
  const mapRule = (m: DnatMap): { c: string; e: Stmt[] } => {
    const lookup = (map: string): Expr => ({ map: { key: payload(m.proto, 'dport'), data: `@${map}` } });
    return {
      c: `port forwards IPv${m.family} ${m.proto}${m.keepPort ? ' keeping the port' : ''}: ${m.entries.length} in map ${m.name}`,
      e: [
        ifMatch('iifname', WAN),
        {
          dnat: {
            family: ipProto(m.family),
            addr: lookup(m.name),
            ...(m.keepPort ? {} : { port: lookup(portMap(m.name)) }),
          },
        },
      ],
    };
  };
  return [...plan.rules.map(rule), ...plan.maps.map(mapRule)];
}

function forward(
  zones: string[],
  mssClamp: boolean,
  proxy: boolean,
  routed: RoutedSpec[],
  opens: ForwardOpen[],
): { c: string; e: Stmt[] }[] {
  const out: { c: string; e: Stmt[] }[] = [];
  if (mssClamp) {
    out.push({
      c: 'clamp TCP MSS to the route MTU on SYNs leaving through an uplink',
      e: [
        ifMatch('oifname', WAN),
        eq(and(payload('tcp', 'flags'), ['syn', 'rst']), 'syn'),
        mangle({ 'tcp option': { name: 'maxseg', field: 'size' } }, { rt: { key: 'mtu' } }),
      ],
    });
  }
  out.push(...routedGuard(routed, WAN, proxy ? `@${PROXY_SET}` : undefined));
  out.push(
    {
      c: 'replies and related packets of allowed connections',
      e: [isIn(ct('state'), ['established', 'related']), accept],
    },
    { c: 'port forwards (DNATed in nat_pre)', e: [isIn(ct('status'), 'dnat'), accept] },
  );
  if (zones.includes('dmz') && zones.includes('lan')) {
    out.push({
      c: 'zone dmz must not open connections into zone lan',
      e: [ifMatch('iifname', `@${zoneSet('dmz')}`), ifMatch('oifname', `@${zoneSet('lan')}`), drop],
    });
  }
  for (const z of zones) {
    out.push({
      c: `zone ${z} may reach the Internet`,
      e: [ifMatch('iifname', `@${zoneSet(z)}`), ifMatch('oifname', WAN), accept],
    });
    if (proxy)
      out.push({
        c: `zone ${z} may reach the demand proxies (zone proxy), like the Internet`,
        e: [ifMatch('iifname', `@${zoneSet(z)}`), ifMatch('oifname', `@${PROXY_SET}`), accept],
      });
  }
  if (proxy)
    out.push({
      c: 'packets replayed from a demand proxy go on to the uplinks',
      e: [ifMatch('iifname', `@${PROXY_SET}`), ifMatch('oifname', WAN), accept],
    });
  out.push(...routedOpens(routed, opens, WAN));
  out.push({ c: 'nothing else from an uplink is forwarded', e: [ifMatch('iifname', WAN), drop] });
  return out;
}

function input(opens: FirewallInput['input'], dhcpIfaces: string[], routed: RoutedSpec[]): { c: string; e: Stmt[] }[] {
  const wan = ifMatch('iifname', WAN);
  const out: { c: string; e: Stmt[] }[] = [
    ...routedSpoof(routed, WAN),
    {
      c: "uplinks: replies to the gateway's own connections (probes, DNS, dial-up)",
      e: [wan, isIn(ct('state'), ['established', 'related']), accept],
    },
    {
      c: 'uplinks: ICMP and ICMPv6 (neighbour discovery, PMTU, ping)',
      e: [wan, eq(meta('l4proto'), { set: ['icmp', 'icmpv6'] }), accept],
    },
    {
      c: 'uplinks: DHCPv6 replies from the ISP router (not tracked as replies)',
      e: [
        wan,
        eq(payload('ip6', 'saddr'), prefix('fe80::/10')),
        eq(payload('udp', 'sport'), 547),
        eq(payload('udp', 'dport'), 546),
        accept,
      ],
    },
  ];
  if (dhcpIfaces.length)
    out.push({
      c: "DHCP uplinks: the server's answers (a broadcast ACK or NAK is no reply conntrack knows)",
      e: [ifMatch('iifname', dhcpIfaces), eq(payload('udp', 'sport'), 67), eq(payload('udp', 'dport'), 68), accept],
    });
  opens.forEach((o, index) => {
    const { first, last } = portRange(o.port);
    const what = `input[${index}]: ${o.proto} ${first === last ? first : `${first}-${last}`}`;
    const dport = eq(payload(o.proto, 'dport'), portExpr(first, last));
    if (!o.from) return void out.push({ c: `${what} open from the uplinks`, e: [wan, dport, accept] });
    for (const family of [4, 6] as const) {
      const from = [...new Set(o.from.filter((c) => familyOf(c) === family))].sort();
      if (!from.length) continue;
      const saddr: Expr = oneOrSet(from.map(prefix));
      out.push({
        c: `${what} open from ${from.join(',')}`,
        e: [wan, dport, eq(payload(ipProto(family), 'saddr'), saddr), accept],
      });
    }
  });
  out.push({ c: 'uplinks: everything else to the gateway is dropped', e: [wan, drop] });
  return out;
}
