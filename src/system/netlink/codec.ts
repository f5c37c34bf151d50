/**
 * Pure rtnetlink codec: turns netlink datagrams into typed objects and builds
 * dump requests. Written by hand because no maintained npm package decodes
 * rtnetlink without aborting the process on bad input (docs/platform-notes.md).
 */
import * as C from './constants.js';
import type { AddrInfo, Family, LinkInfo, RouteInfo, RuleInfo } from '../../model/kernel.js';

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** Offset of the payload (after the 16-byte header) in `buf`. */
  off: number;
  end: number;
  buf: Buffer;
}

export const align4 = (n: number) => (n + 3) & ~3;

/** Splits one datagram into messages; stops at a truncated one instead of throwing. */
export function* messages(buf: Buffer, len = buf.length): Generator<NlMessage> {
  let off = 0;
  while (off + C.NLMSG_HDRLEN <= len) {
    const mlen = buf.readUInt32LE(off);
    if (mlen < C.NLMSG_HDRLEN || off + mlen > len) return;
    yield {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      off: off + C.NLMSG_HDRLEN,
      end: off + mlen,
      buf,
    };
    off += align4(mlen);
  }
}

/** Iterates route attributes (type, value offset, value length) in [off, end). */
export function* attrs(buf: Buffer, off: number, end: number): Generator<[number, number, number]> {
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > end) return;
    yield [buf.readUInt16LE(off + 2) & 0x3fff, off + 4, len - 4];
    off += align4(len);
  }
}

export function formatIp(buf: Buffer, off: number, len: number): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  if (len !== 16) return '';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(off + i).toString(16));
  return compressV6(groups);
}

/** RFC 5952: the longest run (≥ 2) of zero groups becomes `::`. */
function compressV6(groups: string[]): string {
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const cstr = (buf: Buffer, off: number, len: number) => {
  const z = buf.indexOf(0, off);
  return buf.toString('utf8', off, z >= 0 && z < off + len ? z : off + len);
};

export function parseLink(m: NlMessage): LinkInfo {
  const { buf, off } = m;
  const flags = buf.readUInt32LE(off + 8);
  const link: LinkInfo = {
    index: buf.readInt32LE(off + 4),
    name: '',
    up: (flags & C.IFF_UP) !== 0,
    carrier: (flags & C.IFF_LOWER_UP) !== 0,
    operstate: 'unknown',
    mtu: 0,
  };
  for (const [t, o, l] of attrs(buf, off + 16, m.end)) {
    if (t === C.IFLA_IFNAME) link.name = cstr(buf, o, l);
    else if (t === C.IFLA_MTU && l >= 4) link.mtu = buf.readUInt32LE(o);
    else if (t === C.IFLA_OPERSTATE && l >= 1) link.operstate = C.OPERSTATES[buf[o]] ?? 'unknown';
    else if (t === C.IFLA_ADDRESS && l === 6)
      link.mac = [...buf.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    else if (t === C.IFLA_LINKINFO) {
      for (const [nt, no, nl] of attrs(buf, o, o + l)) if (nt === C.IFLA_INFO_KIND) link.kind = cstr(buf, no, nl);
    }
  }
  return link;
}

const familyOf = (af: number): Family | undefined => (af === C.AF_INET ? 4 : af === C.AF_INET6 ? 6 : undefined);

export function parseAddr(m: NlMessage): AddrInfo | undefined {
  const { buf, off } = m;
  const family = familyOf(buf[off]);
  if (!family) return undefined;
  const a: AddrInfo = {
    family,
    prefixlen: buf[off + 1],
    scope: buf[off + 3],
    index: buf.readUInt32LE(off + 4),
    address: '',
  };
  let ifaAddress = '';
  for (const [t, o, l] of attrs(buf, off + 8, m.end)) {
    if (t === C.IFA_LOCAL) a.address = formatIp(buf, o, l);
    else if (t === C.IFA_ADDRESS) ifaAddress = formatIp(buf, o, l);
    else if (t === C.IFA_LABEL) a.label = cstr(buf, o, l);
  }
  // IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links (and IPv6 has only IFA_ADDRESS).
  if (!a.address) a.address = ifaAddress;
  else if (ifaAddress && ifaAddress !== a.address) a.peer = ifaAddress;
  return a;
}

/** Cheap header read used to drop foreign routes before full parsing. */
export function routeHeader(m: NlMessage): { family?: Family; dstLen: number; table: number; protocol: number } {
  const { buf, off } = m;
  let table = buf[off + 4];
  if (table === 252 || table === 0) {
    // RT_TABLE_COMPAT: tables above 255 are only in the RTA_TABLE attribute.
    for (const [t, o, l] of attrs(buf, off + 12, m.end)) if (t === C.RTA_TABLE && l >= 4) table = buf.readUInt32LE(o);
  }
  return { family: familyOf(buf[off]), dstLen: buf[off + 1], table, protocol: buf[off + 5] };
}

export function parseRoute(m: NlMessage): RouteInfo | undefined {
  const { buf, off } = m;
  const family = familyOf(buf[off]);
  if (!family) return undefined;
  const r: RouteInfo = {
    family,
    dstLen: buf[off + 1],
    table: buf[off + 4],
    protocol: buf[off + 5],
    type: C.ROUTE_TYPES[buf[off + 7]] ?? String(buf[off + 7]),
    dst: family === 4 ? '0.0.0.0' : '::',
    metric: 0,
    linkdown: (buf.readUInt32LE(off + 8) & C.RTNH_F_LINKDOWN) !== 0,
  };
  for (const [t, o, l] of attrs(buf, off + 12, m.end)) {
    if (t === C.RTA_DST) r.dst = formatIp(buf, o, l);
    else if (t === C.RTA_GATEWAY) r.gateway = formatIp(buf, o, l);
    else if (t === C.RTA_OIF && l >= 4) r.oif = buf.readUInt32LE(o);
    else if (t === C.RTA_PRIORITY && l >= 4) r.metric = buf.readUInt32LE(o);
    else if (t === C.RTA_PREFSRC) r.prefsrc = formatIp(buf, o, l);
    else if (t === C.RTA_TABLE && l >= 4) r.table = buf.readUInt32LE(o);
  }
  return r;
}

/**
 * The table an nf_tables change message is about: attribute 1 after the 4-byte nfgenmsg, in
 * every object message; undefined for those of no table (NFT_MSG_NEWGEN ends each batch).
 */
export function nftTableOf(m: NlMessage): string | undefined {
  if (m.type >> 8 !== C.NFNL_SUBSYS_NFTABLES) return undefined;
  for (const [t, o, l] of attrs(m.buf, m.off + 4, m.end)) if (t === C.NFTA_TABLE_NAME) return cstr(m.buf, o, l);
  return undefined;
}

export function parseRule(m: NlMessage): RuleInfo | undefined {
  const { buf, off } = m;
  const family = familyOf(buf[off]);
  if (!family) return undefined;
  const r: RuleInfo = {
    family,
    srcLen: buf[off + 2],
    table: buf[off + 4],
    action: C.RULE_ACTIONS[buf[off + 7]] ?? String(buf[off + 7]),
    priority: 0,
    protocol: 0,
    suppressPrefixlen: -1,
  };
  for (const [t, o, l] of attrs(buf, off + 12, m.end)) {
    if (t === C.FRA_SRC) r.src = formatIp(buf, o, l);
    else if (t === C.FRA_PRIORITY && l >= 4) r.priority = buf.readUInt32LE(o);
    else if (t === C.FRA_TABLE && l >= 4) r.table = buf.readUInt32LE(o);
    else if (t === C.FRA_FWMARK && l >= 4) r.fwmark = buf.readUInt32LE(o);
    else if (t === C.FRA_FWMASK && l >= 4) r.fwmask = buf.readUInt32LE(o);
    else if (t === C.FRA_SUPPRESS_PREFIXLEN && l >= 4) r.suppressPrefixlen = buf.readInt32LE(o);
    else if (t === C.FRA_PROTOCOL && l >= 1) r.protocol = buf[o];
  }
  return r;
}

// ---- Encoding (requests we send: dumps, our routes and rules, conntrack) ----

/** A zeroed message of `len` bytes with its netlink header filled in. */
export function nlHeader(len: number, type: number, flags: number, seq: number): Buffer {
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}

/** One attribute (length, type, value), padded to 4 bytes. */
export function nlAttr(type: number, value: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + value.length));
  b.writeUInt16LE(4 + value.length, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, 4);
  return b;
}

export function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/** An address in network byte order: the inverse of formatIp (IPv6 in its hex-group forms). */
export function ipBytes(addr: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(addr.split('.').map(Number));
  const [head = '', tail] = addr.split('::');
  const parts = (s: string) => (s ? s.split(':') : []);
  const h = parts(head),
    t = tail === undefined ? [] : parts(tail);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export interface DumpRequest {
  type: typeof C.RTM_GETLINK | typeof C.RTM_GETADDR | typeof C.RTM_GETROUTE | typeof C.RTM_GETRULE;
  family: number;
  /** Kernel-side filters (need NETLINK_GET_STRICT_CHK): only this table / protocol. */
  table?: number;
  protocol?: number;
}

/** Builds a dump request; with strict checking the kernel filters routes by table and protocol. */
export function dumpRequest(req: DumpRequest, seq: number): Buffer {
  const bodyLen = req.type === C.RTM_GETLINK ? 16 : req.type === C.RTM_GETADDR ? 8 : 12; // rtmsg and fib_rule_hdr are both 12
  const withTable = req.type === C.RTM_GETROUTE && req.table !== undefined;
  const b = nlHeader(C.NLMSG_HDRLEN + bodyLen + (withTable ? 8 : 0), req.type, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
  b[16] = req.family;
  if (req.type === C.RTM_GETROUTE) {
    if (req.table !== undefined) b[20] = req.table < 256 ? req.table : 252;
    if (req.protocol !== undefined) b[21] = req.protocol;
    if (withTable) {
      b.writeUInt16LE(8, 28);
      b.writeUInt16LE(C.RTA_TABLE, 30);
      b.writeUInt32LE(req.table!, 32);
    }
  }
  return b;
}

/** The errno carried by an NLMSG_ERROR message (0 is an ACK). */
export function errorCode(m: NlMessage): number {
  return -m.buf.readInt32LE(m.off);
}
