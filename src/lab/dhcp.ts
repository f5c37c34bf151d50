/**
 * DHCP in the lab: each ISP serves its customer link from a /24 with the real dnsmasq, and
 * the gateway's WAN links start without IPv4 addresses. Used by the DHCP lab tests.
 */
import type { Lab, Ns, NsProcess } from './harness.js';
import { bcp38, type TwoUplinkTopology } from './topology.js';

export const WAN1_NET24 = '198.51.100.0/24';
export const WAN2_NET24 = '203.0.113.0/24';

export interface DhcpServer {
  proc: NsProcess;
  stop(): Promise<void>;
}

/**
 * dnsmasq as the ISP's DHCP server on `down`: no DNS (--port=0, so it offers no DNS server and
 * a client's script leaves resolv.conf alone), its own lease and pid files, 2 minutes (its
 * shortest lease: renewal at ~60 s).
 */
export function dnsmasq(lab: Lab, isp: Ns, range: { first: string; last: string; router: string }): DhcpServer {
  const proc = isp.spawn('dnsmasq', [
    '-k',
    '-C',
    '/dev/null',
    '--port=0',
    '--interface=down',
    '--bind-interfaces',
    `--dhcp-range=${range.first},${range.last},255.255.255.0,2m`,
    `--dhcp-option=option:router,${range.router}`,
    '--dhcp-authoritative',
    `--dhcp-leasefile=${lab.tempFile('dnsmasq.leases', '')}`,
    `--pid-file=${lab.tempFile('dnsmasq.pid', '')}`,
  ]);
  return {
    proc,
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}

/** Turns the two-uplink topology's static /30 customer links into DHCP-served /24s (build it with `bcp38: false`). */
export async function dhcpCustomerLinks(topo: TwoUplinkTopology): Promise<void> {
  const { gw, isp1, isp2, inet } = topo;
  await Promise.all([gw.ip(['-4', 'addr', 'flush', 'dev', 'wan1']), gw.ip(['-4', 'addr', 'flush', 'dev', 'wan2'])]);
  await Promise.all([isp1.ip(['-4', 'addr', 'flush', 'dev', 'down']), isp2.ip(['-4', 'addr', 'flush', 'dev', 'down'])]);
  await Promise.all([
    isp1.ip(['addr', 'add', '198.51.100.1/24', 'dev', 'down']),
    isp2.ip(['addr', 'add', '203.0.113.1/24', 'dev', 'down']),
  ]);
  await Promise.all([
    inet.ip(['route', 'replace', WAN1_NET24, 'via', topo.addr.ISP1_UP, 'dev', 'isp1']),
    inet.ip(['route', 'replace', WAN2_NET24, 'via', topo.addr.ISP2_UP, 'dev', 'isp2']),
    // ISPs that filter foreign source addresses: only their customer /24 may leave (the LAN is masqueraded).
    bcp38(isp1, [WAN1_NET24]),
    bcp38(isp2, [WAN2_NET24]),
  ]);
}
