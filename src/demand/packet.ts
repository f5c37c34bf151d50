/**
 * Raw IPv4 packets as a TUN with IFF_NO_PI hands them over (the buffer starts at the IP
 * header): just enough of them for demand rules and for logging what dialed. Pure; never
 * throws, because the bytes come from whatever a LAN host sent.
 */

export interface PacketInfo {
  family: 4;
  /** A name for the protocols rules can name; the IP protocol number for any other. */
  proto: 'tcp' | 'udp' | 'icmp' | number;
  src: string;
  dst: string;
  /** tcp/udp only, and not for non-first fragments (they carry no transport header). */
  sport?: number;
  dport?: number;
  tcpFlags?: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
  icmpType?: number;
  /** Total bytes of the buffer. */
  length: number;
}

const PROTO_NAMES: Record<number, 'tcp' | 'udp' | 'icmp'> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
/** The smallest transport header from which we read anything (all of ICMP's is 8 bytes). */
const MIN_L4: Record<number, number> = { 1: 8, 6: 20, 17: 8 };

const addr = (b: Buffer, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

/** The packet's headers, or undefined for IPv6, truncated or garbage input. */
export function parsePacket(buf: Buffer): PacketInfo | undefined {
  if (buf.length < 20 || buf[0]! >> 4 !== 4) return undefined;
  const ihl = (buf[0]! & 0x0f) * 4;
  const total = buf.readUInt16BE(2);
  // The kernel may pad a read, never shorten what the header claims; anything else is cut off.
  if (ihl < 20 || total < ihl || total > buf.length) return undefined;
  const protoNum = buf[9]!;
  const p: PacketInfo = {
    family: 4,
    proto: PROTO_NAMES[protoNum] ?? protoNum,
    src: addr(buf, 12),
    dst: addr(buf, 16),
    length: buf.length,
  };
  const fragOffset = buf.readUInt16BE(6) & 0x1fff;
  const min = MIN_L4[protoNum];
  if (fragOffset !== 0 || min === undefined) return p;
  // A first fragment too short for the transport header is an evasion trick, not traffic.
  if (total - ihl < min) return undefined;
  const l4 = buf.subarray(ihl, total);
  if (p.proto === 'icmp') return { ...p, icmpType: l4[0]! };
  const ports = { ...p, sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2) };
  if (p.proto === 'udp') return ports;
  if (l4[12]! >> 4 < 5) return undefined; // a TCP data offset below the fixed header
  const f = l4[13]!;
  return {
    ...ports,
    tcpFlags: { fin: (f & 0x01) !== 0, syn: (f & 0x02) !== 0, rst: (f & 0x04) !== 0, ack: (f & 0x10) !== 0 },
  };
}

/** ICMP type names as nft spells them, so logs read like rules. */
const ICMP_TYPES: Record<number, string> = {
  0: 'echo-reply',
  3: 'destination-unreachable',
  4: 'source-quench',
  5: 'redirect',
  8: 'echo-request',
  9: 'router-advertisement',
  10: 'router-solicitation',
  11: 'time-exceeded',
  12: 'parameter-problem',
  13: 'timestamp-request',
  14: 'timestamp-reply',
};

function tcpLabel(f: NonNullable<PacketInfo['tcpFlags']>): string | undefined {
  if (f.rst) return 'RST';
  if (f.syn) return f.ack ? 'SYN-ACK' : 'SYN';
  if (f.fin) return 'FIN';
  return undefined;
}

/** One line for logs: "tcp 10.66.0.2:40000 → 192.0.2.100:80 SYN". */
export function summarize(p: PacketInfo): string {
  const name = typeof p.proto === 'number' ? `proto ${p.proto}` : p.proto;
  const end = (a: string, port?: number) => (port === undefined ? a : `${a}:${port}`);
  const head = `${name} ${end(p.src, p.sport)} → ${end(p.dst, p.dport)}`;
  if (p.icmpType !== undefined) return `${head} ${ICMP_TYPES[p.icmpType] ?? `type ${p.icmpType}`}`;
  const label = p.tcpFlags && tcpLabel(p.tcpFlags);
  return label ? `${head} ${label}` : `${head} (${p.length} bytes)`;
}
