/**
 * One ICMPv6 router solicitation on an interface (RFC 4861 §6.3.7), through a raw socket
 * (the probe sockets' koffi helpers: Node has none). The kernel sends its own only when a link
 * comes up, and not at all when forwarding is on and accept_ra was not yet 2 — then an uplink
 * could wait the router's whole advertisement interval (radvd: up to 600 s) for its gateway.
 */
import { UplinkError } from '../errors.js';
import {
  bindToDevice,
  closeFd,
  connectTo,
  IPPROTO_ICMPV6,
  openSocket,
  sendBuf,
  setMulticastHops,
  SOCK_RAW,
} from './probe/sockets.js';

const ND_ROUTER_SOLICIT = 133;

/** The solicitation: type 133, and the source link-layer address option when there is a MAC. */
export function solicitation(mac?: string): Buffer {
  const hw = mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) ? Buffer.from(mac.replace(/:/g, ''), 'hex') : undefined;
  const b = Buffer.alloc(8 + (hw ? 8 : 0));
  b[0] = ND_ROUTER_SOLICIT; // code, checksum (the kernel fills it in for ICMPv6 raw sockets), reserved: 0
  if (hw) {
    b[8] = 1; // source link-layer address
    b[9] = 1; // length in units of 8 octets
    hw.copy(b, 10);
  }
  return b;
}

/** Sends one solicitation to all-routers (ff02::2) on `iface`; throws UplinkError('SYSTEM'). */
export function sendRouterSolicitation(iface: string, mac?: string): void {
  let fd = -1;
  try {
    fd = openSocket(6, SOCK_RAW, IPPROTO_ICMPV6);
    bindToDevice(fd, iface);
    // Hop limit 255, or routers discard it (RFC 4861 §6.1.1).
    setMulticastHops(fd, 255);
    connectTo(fd, 6, `ff02::2%${iface}`, 0);
    sendBuf(fd, solicitation(mac));
  } catch (e) {
    throw new UplinkError(
      'SYSTEM',
      `router solicitation on ${iface} failed: ${(e as Error).message}`,
      'uplinkd needs root',
    );
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}
