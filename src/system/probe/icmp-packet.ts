/**
 * ICMP / ICMPv6 echo packets for probes. Pure. With datagram ("ping") sockets the kernel
 * fills the identifier and checksum and hands back only matching echo replies; with raw
 * sockets we set the identifier, compute the IPv4 checksum (the kernel computes ICMPv6's)
 * and must pick our replies out of everything ICMP that arrives.
 */

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_ECHO = 128;
export const ICMP6_ECHO_REPLY = 129;

/** RFC 1071 Internet checksum. */
export function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request; the checksum is filled for IPv4 (harmless for dgram sockets, which overwrite it). */
export function buildEcho(family: 4 | 6, id: number, seq: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = family === 4 ? ICMP_ECHO : ICMP6_ECHO;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  b.set(payload, 8);
  if (family === 4) b.writeUInt16BE(checksum(b), 2);
  return b;
}

export type IcmpParsed =
  | { kind: 'reply'; id: number; seq: number }
  /** An error (unreachable, time exceeded) quoting one of our echo requests. */
  | { kind: 'error'; type: number; code: number; id: number; seq: number };

/**
 * Parses what a socket returned. `ipHeader`: the buffer starts with an IPv4 header (raw
 * IPv4 sockets); IPv6 sockets never see the IPv6 header. Anything else: undefined.
 */
export function parseIcmp(family: 4 | 6, buf: Uint8Array, ipHeader: boolean): IcmpParsed | undefined {
  let off = 0;
  if (ipHeader) {
    if (buf.length < 20 || buf[0]! >> 4 !== 4) return undefined;
    off = (buf[0]! & 0xf) * 4;
  }
  if (buf.length < off + 8) return undefined;
  const type = buf[off]!;
  const code = buf[off + 1]!;
  const u16 = (o: number) => (buf[o]! << 8) | buf[o + 1]!;
  if (type === (family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY))
    return { kind: 'reply', id: u16(off + 4), seq: u16(off + 6) };
  const isError =
    family === 4
      ? type === ICMP_DEST_UNREACH || type === ICMP_TIME_EXCEEDED
      : type === ICMP6_DEST_UNREACH || type === ICMP6_TIME_EXCEEDED;
  if (!isError) return undefined;
  // The quoted packet: its IP header, then at least 8 bytes of our echo request.
  let inner = off + 8;
  if (family === 4) {
    if (buf.length < inner + 20 || buf[inner]! >> 4 !== 4 || buf[inner + 9] !== 1) return undefined;
    inner += (buf[inner]! & 0xf) * 4;
  } else {
    if (buf.length < inner + 40 || buf[inner]! >> 4 !== 6 || buf[inner + 6] !== 58) return undefined;
    inner += 40;
  }
  if (buf.length < inner + 8 || buf[inner] !== (family === 4 ? ICMP_ECHO : ICMP6_ECHO)) return undefined;
  return { kind: 'error', type, code, id: u16(inner + 4), seq: u16(inner + 6) };
}

/** Errno-like name for an ICMP error, for messages. */
export function icmpErrorName(family: 4 | 6, type: number, code: number): string {
  if (family === 4) {
    if (type === ICMP_TIME_EXCEEDED) return 'time exceeded';
    return (
      ['network unreachable', 'host unreachable', 'protocol unreachable', 'port unreachable'][code] ??
      (code === 13 ? 'administratively prohibited' : `destination unreachable (code ${code})`)
    );
  }
  if (type === ICMP6_TIME_EXCEEDED) return 'time exceeded';
  return (
    [
      'no route to destination',
      'administratively prohibited',
      'beyond scope of source address',
      'address unreachable',
      'port unreachable',
    ][code] ?? `destination unreachable (code ${code})`
  );
}
