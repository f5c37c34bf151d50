// Standard lab topologies built on the harness.
//
//   lan(eth0) ── (lan0)gw(wan1) ── (down)isp1(up) ── (isp1)inet
//                     (wan2) ── (down)isp2(up) ── (isp2)inet     inet lo: 192.0.2.100
//
// gw deliberately gets NO default route: choosing one is uplinkd's job.

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

export const ADDR = {
  GW_WAN1, ISP1_DOWN, WAN1_NET, GW_WAN2, ISP2_DOWN, WAN2_NET,
  ISP1_UP, INET_ISP1, ISP2_UP, INET_ISP2, SERVER, GW_LAN, LAN_HOST, LAN_NET,
} as const;

export type IspName = 'isp1' | 'isp2';

export interface TwoUplinkOptions {
  /**
   * Which ISP(s) carry traffic back to the un-NATed LAN prefix (default 'none': with
   * masquerade on gw, replies go to the WAN addresses and need no LAN route).
   */
  lanReturnVia?: IspName | 'both' | 'none';
  /**
   * ISPs drop forwarded packets from their customer whose source is not theirs
   * (BCP 38), as real ones do: the customer /30 and, until NAT exists, the LAN
   * prefix. Default true.
   */
  bcp38?: boolean;
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

export async function twoUplinkTopology(lab: Lab, opts: TwoUplinkOptions = {}): Promise<TwoUplinkTopology> {
  const lanReturnVia = opts.lanReturnVia ?? 'none';
  const [gw, isp1, isp2, inet, lan] = await Promise.all([
    lab.ns('gw', { forwarding: true }),
    lab.ns('isp1', { forwarding: true }),
    lab.ns('isp2', { forwarding: true }),
    lab.ns('inet'),
    lab.ns('lan'),
  ]);

  await Promise.all([
    lab.veth(gw, 'wan1', isp1, 'down', { aAddr: `${GW_WAN1}/30`, bAddr: `${ISP1_DOWN}/30` }),
    lab.veth(gw, 'wan2', isp2, 'down', { aAddr: `${GW_WAN2}/30`, bAddr: `${ISP2_DOWN}/30` }),
    lab.veth(isp1, 'up', inet, 'isp1', { aAddr: `${ISP1_UP}/30`, bAddr: `${INET_ISP1}/30` }),
    lab.veth(isp2, 'up', inet, 'isp2', { aAddr: `${ISP2_UP}/30`, bAddr: `${INET_ISP2}/30` }),
    lab.veth(gw, 'lan0', lan, 'eth0', { aAddr: `${GW_LAN}/24`, bAddr: `${LAN_HOST}/24` }),
  ]);

  const ispNs = { isp1, isp2 };
  const viaIsp = (name: IspName) => lanReturnVia === name || lanReturnVia === 'both';
  // The ISP's route to the customer's LAN sits on `down`, so an admin-down flushes it.
  const addLanRoute = (name: IspName) =>
    viaIsp(name)
      ? ispNs[name].ip(['route', 'replace', LAN_NET, 'via', name === 'isp1' ? GW_WAN1 : GW_WAN2, 'dev', 'down'])
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
  ]);
  if (lanReturnVia !== 'none') {
    const hops = lanReturnVia === 'both'
      ? ['nexthop', 'via', ISP1_UP, 'dev', 'isp1', 'nexthop', 'via', ISP2_UP, 'dev', 'isp2']
      : lanReturnVia === 'isp1' ? ['via', ISP1_UP, 'dev', 'isp1'] : ['via', ISP2_UP, 'dev', 'isp2'];
    await inet.ip(['route', 'add', LAN_NET, ...hops]);
  }

  if (opts.bcp38 !== false) {
    await Promise.all((['isp1', 'isp2'] as const).map((name) => ispNs[name].nft(`table inet lab_bcp38 {
  chain bcp38 { type filter hook forward priority 0; iifname "down" ip saddr != { ${name === 'isp1' ? WAN1_NET : WAN2_NET}, ${LAN_NET} } counter drop; }
}
`)));
  }

  return {
    gw, isp1, isp2, inet, lan,
    addr: ADDR,
    isp: (name) => ispNs[name],
    async blackhole(name) {
      // Filter hooks see forwarded and local traffic both ways; ARP is untouched, so the
      // neighbour stays reachable and only IP vanishes, like an ISP dead beyond its modem.
      // Empty table + delete + create = atomic replace, so calling twice is fine.
      await ispNs[name].nft(`table inet ${BLACKHOLE_TABLE} {}
delete table inet ${BLACKHOLE_TABLE}
table inet ${BLACKHOLE_TABLE} {
  chain pre { type filter hook prerouting priority -400; iifname "down" counter drop; }
  chain post { type filter hook postrouting priority 400; oifname "down" counter drop; }
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
    },
  };
}
