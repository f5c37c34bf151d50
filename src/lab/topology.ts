// Standard lab topologies built on the harness.
//
//   lan(eth0) ── (lan0)gw(wan1) ── (down)isp1(up) ── (isp1)inet
//                     (wan2) ── (down)isp2(up) ── (isp2)inet     inet lo: 192.0.2.100
//
// Dual stack: every link also carries IPv6 from 2001:db8::/32 (the *_6 / *6 constants),
// added `nodad` so it is usable at once; the server is 2001:db8:100::100 on inet's lo.
//
// gw deliberately gets NO default route, in either family: choosing one is uplinkd's job.
// gw also ignores router advertisements (accept_ra=0), so none can sneak one in.

import type { Lab, Ns } from './harness.js';

// Uplink 1: gw wan1 <-> isp1 down
export const GW_WAN1 = '198.51.100.2';
export const ISP1_DOWN = '198.51.100.1'; // gw's next hop on uplink 1
export const WAN1_NET = '198.51.100.0/30';
// Uplink 2: gw wan2 <-> isp2 down
export const GW_WAN2 = '203.0.113.2';
export const ISP2_DOWN = '203.0.113.1'; // gw's next hop on uplink 2
export const WAN2_NET = '203.0.113.0/30';
// Transit: isp1 up <-> inet isp1, isp2 up <-> inet isp2
export const ISP1_UP = '192.0.2.1';
export const INET_ISP1 = '192.0.2.2';
export const ISP2_UP = '192.0.2.5';
export const INET_ISP2 = '192.0.2.6';
/** The "internet" server address (on inet's lo), the usual probe / traffic target. */
export const SERVER = '192.0.2.100';
// LAN: gw lan0 <-> lan eth0
export const GW_LAN = '10.66.0.1';
export const LAN_HOST = '10.66.0.2';
export const LAN_NET = '10.66.0.0/24';

// IPv6, all /64 links (documentation prefix 2001:db8::/32).
// Uplink 1: gw wan1 <-> isp1 down
export const GW_WAN1_6 = '2001:db8:1::2';
export const ISP1_DOWN_6 = '2001:db8:1::1'; // gw's IPv6 next hop on uplink 1
export const WAN1_NET6 = '2001:db8:1::/64';
// Uplink 2: gw wan2 <-> isp2 down
export const GW_WAN2_6 = '2001:db8:2::2';
export const ISP2_DOWN_6 = '2001:db8:2::1'; // gw's IPv6 next hop on uplink 2
export const WAN2_NET6 = '2001:db8:2::/64';
// Transit: isp1 up <-> inet isp1, isp2 up <-> inet isp2
export const ISP1_UP_6 = '2001:db8:11::1';
export const INET_ISP1_6 = '2001:db8:11::2';
export const ISP2_UP_6 = '2001:db8:12::1';
export const INET_ISP2_6 = '2001:db8:12::2';
/** The "internet" server's IPv6 address (a /128 on inet's lo). */
export const SERVER6 = '2001:db8:100::100';
// LAN: gw lan0 <-> lan eth0
export const GW_LAN6 = '2001:db8:66::1';
export const LAN_HOST6 = '2001:db8:66::2';
export const LAN_NET6 = '2001:db8:66::/64';

export const ADDR = {
  GW_WAN1,
  ISP1_DOWN,
  WAN1_NET,
  GW_WAN2,
  ISP2_DOWN,
  WAN2_NET,
  ISP1_UP,
  INET_ISP1,
  ISP2_UP,
  INET_ISP2,
  SERVER,
  GW_LAN,
  LAN_HOST,
  LAN_NET,
  GW_WAN1_6,
  ISP1_DOWN_6,
  WAN1_NET6,
  GW_WAN2_6,
  ISP2_DOWN_6,
  WAN2_NET6,
  ISP1_UP_6,
  INET_ISP1_6,
  ISP2_UP_6,
  INET_ISP2_6,
  SERVER6,
  GW_LAN6,
  LAN_HOST6,
  LAN_NET6,
} as const;

export type IspName = 'isp1' | 'isp2';

export interface TwoUplinkOptions {
  /**
   * Which ISP(s) carry traffic back to the un-NATed LAN prefix (default 'none': with
   * masquerade on gw, replies go to the WAN addresses and need no LAN route). Applies to
   * both LAN_NET and LAN_NET6.
   */
  lanReturnVia?: IspName | 'both' | 'none';
  /**
   * ISPs drop forwarded packets from their customer whose source is not theirs
   * (BCP 38), as real ones do: the customer /30 and, until NAT exists, the LAN
   * prefix; for IPv6 the customer /64 and the LAN /64. Default true.
   */
  bcp38?: boolean;
  /**
   * Public IPv4 blocks an ISP routes to the gateway (its customer address as next hop), as an
   * office's ISP routes it a block for its servers: the ISP's BCP 38 filter lets them out, the
   * other ISP's does not, and inet routes them through that ISP.
   */
  routed?: { prefix: string; isp: IspName }[];
}

export interface TwoUplinkTopology {
  gw: Ns;
  isp1: Ns;
  isp2: Ns;
  inet: Ns;
  lan: Ns;
  addr: typeof ADDR;
  isp(name: IspName): Ns;
  /** Dead uplink, hard case: the ISP drops everything on its `down` side, carrier stays up. */
  blackhole(isp: IspName): Promise<void>;
  unblackhole(isp: IspName): Promise<void>;
  /** Dead uplink, easy case: ISP sets `down` admin-down, so gw's WAN loses carrier. */
  carrierDown(isp: IspName): Promise<void>;
  carrierUp(isp: IspName): Promise<void>;
}

const BLACKHOLE_TABLE = 'lab_blackhole';

/**
 * An ISP that forwards from its customer (interface `down`) only these source prefixes
 * (BCP 38). Forward hook only: neighbour discovery (ICMPv6 to or from the ISP itself) is
 * never forwarded, so it passes untouched, as ARP does for IPv4.
 */
export async function bcp38(isp: Ns, allowed4: string[], allowed6: string[] = []): Promise<void> {
  const v6 = allowed6.length ? `\n    iifname "down" ip6 saddr != { ${allowed6.join(', ')} } counter drop;` : '';
  await isp.nft(
    `table inet lab_bcp38 {\n  chain bcp38 {\n    type filter hook forward priority 0;\n    iifname "down" ip saddr != { ${allowed4.join(', ')} } counter drop;${v6}\n  }\n}\n`,
  );
}

export async function twoUplinkTopology(lab: Lab, opts: TwoUplinkOptions = {}): Promise<TwoUplinkTopology> {
  const lanReturnVia = opts.lanReturnVia ?? 'none';
  // IPv6 sysctls, set at creation so that every interface made later inherits them.
  // No DAD: our addresses are `nodad` anyway, but the kernel also needs a non-tentative
  // link-local address to send the neighbour solicitation for a *forwarded* packet, so with
  // DAD a fresh (or re-upped) link would drop forwarded IPv6 for a second or two.
  const noDad = { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 };
  const router6 = { ...noDad, 'net.ipv6.conf.all.forwarding': 1 };
  const [gw, isp1, isp2, inet, lan] = await Promise.all([
    // gw ignores router advertisements: its default routes are uplinkd's alone.
    lab.ns('gw', {
      forwarding: true,
      sysctls: { ...router6, 'net.ipv6.conf.all.accept_ra': 0, 'net.ipv6.conf.default.accept_ra': 0 },
    }),
    lab.ns('isp1', { forwarding: true, sysctls: router6 }),
    lab.ns('isp2', { forwarding: true, sysctls: router6 }),
    lab.ns('inet', { sysctls: noDad }),
    lab.ns('lan', { sysctls: noDad }),
  ]);

  await Promise.all([
    lab.veth(gw, 'wan1', isp1, 'down', { aAddr: `${GW_WAN1}/30`, bAddr: `${ISP1_DOWN}/30` }),
    lab.veth(gw, 'wan2', isp2, 'down', { aAddr: `${GW_WAN2}/30`, bAddr: `${ISP2_DOWN}/30` }),
    lab.veth(isp1, 'up', inet, 'isp1', { aAddr: `${ISP1_UP}/30`, bAddr: `${INET_ISP1}/30` }),
    lab.veth(isp2, 'up', inet, 'isp2', { aAddr: `${ISP2_UP}/30`, bAddr: `${INET_ISP2}/30` }),
    lab.veth(gw, 'lan0', lan, 'eth0', { aAddr: `${GW_LAN}/24`, bAddr: `${LAN_HOST}/24` }),
  ]);

  // `replace`: idempotent, so carrierUp can reuse it.
  const addr6 = (ns: Ns, dev: string, cidr: string) => ns.ip(['-6', 'addr', 'replace', cidr, 'dev', dev, 'nodad']);
  await Promise.all([
    addr6(gw, 'wan1', `${GW_WAN1_6}/64`),
    addr6(isp1, 'down', `${ISP1_DOWN_6}/64`),
    addr6(gw, 'wan2', `${GW_WAN2_6}/64`),
    addr6(isp2, 'down', `${ISP2_DOWN_6}/64`),
    addr6(isp1, 'up', `${ISP1_UP_6}/64`),
    addr6(inet, 'isp1', `${INET_ISP1_6}/64`),
    addr6(isp2, 'up', `${ISP2_UP_6}/64`),
    addr6(inet, 'isp2', `${INET_ISP2_6}/64`),
    addr6(inet, 'lo', `${SERVER6}/128`),
    addr6(gw, 'lan0', `${GW_LAN6}/64`),
    addr6(lan, 'eth0', `${LAN_HOST6}/64`),
  ]);

  const ispNs = { isp1, isp2 };
  const routed = opts.routed ?? [];
  const customer = (name: IspName) => (name === 'isp1' ? GW_WAN1 : GW_WAN2);
  /** The ISP's routes to the customer's routed blocks sit on `down`: an admin-down flushes them. */
  const addRoutedRoutes = (name: IspName) =>
    Promise.all(
      routed
        .filter((r) => r.isp === name)
        .map((r) => ispNs[name].ip(['route', 'replace', r.prefix, 'via', customer(name), 'dev', 'down'])),
    );
  const routedOf = (name: IspName) => routed.filter((r) => r.isp === name).map((r) => r.prefix);
  const viaIsp = (name: IspName) => lanReturnVia === name || lanReturnVia === 'both';
  // The ISP's route to the customer's LAN sits on `down`, so an admin-down flushes it.
  const addLanRoute = (name: IspName) =>
    viaIsp(name)
      ? ispNs[name].ip(['route', 'replace', LAN_NET, 'via', name === 'isp1' ? GW_WAN1 : GW_WAN2, 'dev', 'down'])
      : Promise.resolve();
  const addLanRoute6 = (name: IspName) =>
    viaIsp(name)
      ? ispNs[name].ip([
          '-6',
          'route',
          'replace',
          LAN_NET6,
          'via',
          name === 'isp1' ? GW_WAN1_6 : GW_WAN2_6,
          'dev',
          'down',
        ])
      : Promise.resolve();

  await Promise.all([
    isp1.ip(['route', 'add', 'default', 'via', INET_ISP1, 'dev', 'up']),
    isp2.ip(['route', 'add', 'default', 'via', INET_ISP2, 'dev', 'up']),
    // inet has no default route: it only knows the ISPs' customer links (and maybe the LAN).
    inet.ip(['route', 'add', WAN1_NET, 'via', ISP1_UP, 'dev', 'isp1']),
    inet.ip(['route', 'add', WAN2_NET, 'via', ISP2_UP, 'dev', 'isp2']),
    inet.ip(['addr', 'add', `${SERVER}/32`, 'dev', 'lo']),
    lan.ip(['route', 'add', 'default', 'via', GW_LAN, 'dev', 'eth0']),
    addLanRoute('isp1'),
    addLanRoute('isp2'),
    // IPv6 likewise (the SERVER6 /128 on lo was added above).
    isp1.ip(['-6', 'route', 'add', 'default', 'via', INET_ISP1_6, 'dev', 'up']),
    isp2.ip(['-6', 'route', 'add', 'default', 'via', INET_ISP2_6, 'dev', 'up']),
    inet.ip(['-6', 'route', 'add', WAN1_NET6, 'via', ISP1_UP_6, 'dev', 'isp1']),
    inet.ip(['-6', 'route', 'add', WAN2_NET6, 'via', ISP2_UP_6, 'dev', 'isp2']),
    lan.ip(['-6', 'route', 'add', 'default', 'via', GW_LAN6, 'dev', 'eth0']),
    addLanRoute6('isp1'),
    addLanRoute6('isp2'),
    addRoutedRoutes('isp1'),
    addRoutedRoutes('isp2'),
    ...routed.map((r) => inet.ip(['route', 'add', r.prefix, 'via', r.isp === 'isp1' ? ISP1_UP : ISP2_UP])),
  ]);
  if (lanReturnVia !== 'none') {
    // The way back to the LAN: through one ISP, or both (multipath).
    const hops = (via1: string, via2: string) =>
      lanReturnVia === 'both'
        ? ['nexthop', 'via', via1, 'dev', 'isp1', 'nexthop', 'via', via2, 'dev', 'isp2']
        : lanReturnVia === 'isp1'
          ? ['via', via1, 'dev', 'isp1']
          : ['via', via2, 'dev', 'isp2'];
    await inet.ip(['route', 'add', LAN_NET, ...hops(ISP1_UP, ISP2_UP)]);
    await inet.ip(['-6', 'route', 'add', LAN_NET6, ...hops(ISP1_UP_6, ISP2_UP_6)]);
  }

  if (opts.bcp38 !== false) {
    await Promise.all([
      bcp38(isp1, [WAN1_NET, LAN_NET, ...routedOf('isp1')], [WAN1_NET6, LAN_NET6]),
      bcp38(isp2, [WAN2_NET, LAN_NET, ...routedOf('isp2')], [WAN2_NET6, LAN_NET6]),
    ]);
  }

  return {
    gw,
    isp1,
    isp2,
    inet,
    lan,
    addr: ADDR,
    isp: (name) => ispNs[name],
    async blackhole(name) {
      // Filter hooks see forwarded and local traffic both ways, IPv4 and IPv6 (inet table).
      // ARP is untouched, and IPv6 neighbour discovery (NS/NA, which is IP) is let through,
      // so the neighbour stays reachable and only IP vanishes, like an ISP dead beyond its
      // modem. Empty table + delete + create = atomic replace, so calling twice is fine.
      const nd = 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept';
      await ispNs[name].nft(`table inet ${BLACKHOLE_TABLE} {}
delete table inet ${BLACKHOLE_TABLE}
table inet ${BLACKHOLE_TABLE} {
  chain pre { type filter hook prerouting priority -400; iifname "down" ${nd}; iifname "down" counter drop; }
  chain post { type filter hook postrouting priority 400; oifname "down" ${nd}; oifname "down" counter drop; }
}
`);
    },
    async unblackhole(name) {
      // nft 1.0.6 has no `destroy`: create-if-missing then delete makes this idempotent.
      await ispNs[name].nft(`table inet ${BLACKHOLE_TABLE} {}\ndelete table inet ${BLACKHOLE_TABLE}\n`);
    },
    async carrierDown(name) {
      await ispNs[name].ip(['link', 'set', 'dev', 'down', 'down']);
    },
    async carrierUp(name) {
      await ispNs[name].ip(['link', 'set', 'dev', 'down', 'up']);
      await addLanRoute(name);
      await addRoutedRoutes(name);
      // Admin-down also flushes IPv6 addresses (keep_addr_on_down=0), and the LAN route's
      // next hop is only valid once the /64 is back on the link.
      await addr6(ispNs[name], 'down', `${name === 'isp1' ? ISP1_DOWN_6 : ISP2_DOWN_6}/64`);
      await addLanRoute6(name);
    },
  };
}
