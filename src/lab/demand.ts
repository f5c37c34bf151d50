/**
 * The dial-on-demand lab: a gateway whose only uplink is a "modem". Its connect command
 * sleeps like one, then creates the veth into the ISP namespace; its disconnect command
 * deletes it. The ISP drops foreign source addresses (BCP 38), so only NATed packets pass.
 *
 *   lan (10.66.0.2) ── lan0 gw wan0 ·· (dialed) ·· down isp up ── isp inet (192.0.2.100)
 */
import type { Lab, Ns } from './harness.js';
import { bcp38, GW_LAN, LAN_HOST, SERVER } from './topology.js';

export const DSL_GW = '198.51.100.2';
export const DSL_ISP = '198.51.100.1';
const DSL_NET = '198.51.100.0/30';
const ISP_UP = '192.0.2.1';
const INET_ISP = '192.0.2.2';

export interface DemandTopology {
  gw: Ns;
  isp: Ns;
  inet: Ns;
  lan: Ns;
  /** The connect command: sleeps `dialMs`, then brings the link up and stays in the foreground. */
  connect(dialMs?: number): string;
  disconnect: string;
}

export async function demandTopology(lab: Lab): Promise<DemandTopology> {
  const [gw, isp, inet, lan] = await Promise.all([
    lab.ns('gw', { forwarding: true }),
    lab.ns('isp', { forwarding: true }),
    lab.ns('inet'),
    lab.ns('lan'),
  ]);
  await Promise.all([
    lab.veth(isp, 'up', inet, 'isp', { aAddr: `${ISP_UP}/30`, bAddr: `${INET_ISP}/30` }),
    lab.veth(gw, 'lan0', lan, 'eth0', { aAddr: `${GW_LAN}/24`, bAddr: `${LAN_HOST}/24` }),
  ]);
  await Promise.all([
    isp.ip(['route', 'add', 'default', 'via', INET_ISP, 'dev', 'up']),
    inet.ip(['addr', 'add', `${SERVER}/32`, 'dev', 'lo']),
    inet.ip(['route', 'add', DSL_NET, 'via', ISP_UP, 'dev', 'isp']),
    lan.ip(['route', 'add', 'default', 'via', GW_LAN, 'dev', 'eth0']),
    // From its customer the ISP forwards only the customer's own address: only NATed packets pass.
    bcp38(isp, [DSL_NET]),
  ]);
  const connect = (dialMs = 1000) =>
    [
      `sleep ${dialMs / 1000}`,
      `ip link add wan0 type veth peer name down netns ${isp.name}`,
      `ip -n ${isp.name} addr add ${DSL_ISP}/30 dev down`,
      ...modemUp({ ispNs: isp.name, ispDev: 'down', dev: 'wan0', address: `${DSL_GW}/30` }),
      'exec sleep 100000',
    ].join('; ');
  return { gw, isp, inet, lan, connect, disconnect: 'ip link del wan0' };
}

/**
 * The shell lines that bring a lab modem's link up the way pppd does: the gateway's end gets
 * its address only once the link carries traffic both ways. A veth end brought up before its
 * peer gets its transmit queue only when linkwatch (a kworker, milliseconds late on a loaded
 * machine) handles the carrier; until then it drops what it sends, such as the ISP's answer to
 * the gateway's first ARP. The next ARP comes a second later, and fast probes fail the fresh dial.
 */
export function modemUp(o: { ispNs: string; ispDev: string; dev: string; address: string }): string[] {
  return [
    `ip -n ${o.ispNs} link set dev ${o.ispDev} up`,
    `ip link set dev ${o.dev} up`,
    `for i in $(seq 500); do ip -n ${o.ispNs} link show dev ${o.ispDev} | grep -q 'state UP' && break; sleep 0.01; done`,
    `ip addr add ${o.address} dev ${o.dev}`,
  ];
}

/** A daemon config with one demand uplink `dsl` and the LAN. */
export function demandConfig(
  t: DemandTopology,
  o: { idle?: string; extra?: string; uplinkExtra?: string; dialMs?: number } = {},
): string {
  return `uplinks:
  dsl:
    interface: wan0
    mode: demand
    gateway: ${DSL_ISP}
    connect: ${JSON.stringify(t.connect(o.dialMs))}
    disconnect: ${JSON.stringify(t.disconnect)}
    idle: ${o.idle ?? '3s'}
    probe: { profile: fast, targets: [${SERVER}] }
    redial: { holdoff: 0s, backoff: 1s }
${o.uplinkExtra ?? ''}lan:
  - { interface: lan0, zone: lan }
${o.extra ?? ''}`;
}
