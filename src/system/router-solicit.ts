/**
 * One ICMPv6 router solicitation on an interface (RFC 4861 §6.3.7), through a raw socket
 * (koffi: Node has none). The kernel sends its own only when a link comes up, and not at all
 * when forwarding is on and accept_ra was not yet 2 — then an uplink could wait the router's
 * whole advertisement interval (radvd: up to 600 s) for its IPv6 gateway.
 */
import koffi from 'koffi';
import { UplinkError } from '../errors.js';
import { close, ifNameToIndex, libc, setsockopt, socket } from './libc.js';

const sendto = libc.func('long sendto(int, void *, size_t, int, void *, uint32_t)');
const AF_INET6 = 10;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_IPV6 = 41;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
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

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

/** Sends one solicitation to all-routers (ff02::2) on `iface`; throws UplinkError('SYSTEM'). */
export function sendRouterSolicitation(iface: string, mac?: string): void {
  const index = ifNameToIndex(iface);
  if (!index) throw new UplinkError('SYSTEM', `cannot solicit routers on ${iface}: no such interface`);
  const fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0)
    throw new UplinkError('SYSTEM', `cannot open an ICMPv6 raw socket (errno ${koffi.errno()})`, 'uplinkd needs root');
  try {
    const dev = Buffer.from(`${iface}\0`);
    // Hop limit 255, or routers discard it (RFC 4861 §6.1.1).
    const ok =
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length) === 0 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, int32(255), 4) === 0 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, int32(index), 4) === 0;
    if (!ok)
      throw new UplinkError('SYSTEM', `cannot set up a router solicitation on ${iface} (errno ${koffi.errno()})`);
    const sa = Buffer.alloc(28);
    sa.writeUInt16LE(AF_INET6, 0);
    Buffer.from('ff020000000000000000000000000002', 'hex').copy(sa, 8);
    sa.writeUInt32LE(index, 24);
    const msg = solicitation(mac);
    if (Number(sendto(fd, msg, msg.length, 0, sa, sa.length)) < 0)
      throw new UplinkError('SYSTEM', `router solicitation on ${iface} failed (errno ${koffi.errno()})`);
  } finally {
    close(fd);
  }
}
