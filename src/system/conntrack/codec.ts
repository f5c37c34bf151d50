/**
 * Pure ctnetlink codec (NETLINK_NETFILTER, subsystem CTNETLINK): a dump request for the
 * IPv4 conntrack table, the few fields of an entry we judge by, and a delete request that
 * names one entry by its original tuple. The `conntrack` tool is not installed by default
 * on the gateways we target, so we speak the protocol ourselves.
 */
import { align4, attrs, formatIp, nlHeader, type NlMessage } from '../netlink/codec.js';
import * as C from '../netlink/constants.js';

export const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_NEW = NFNL_SUBSYS_CTNETLINK << 8;
export const IPCTNL_MSG_CT_GET = (NFNL_SUBSYS_CTNETLINK << 8) | 1;
export const IPCTNL_MSG_CT_DELETE = (NFNL_SUBSYS_CTNETLINK << 8) | 2;
/** Attribute types of a conntrack entry (linux/netfilter/nfnetlink_conntrack.h). */
export const CTA = {
  TUPLE_ORIG: 1,
  TUPLE_REPLY: 2,
  ZONE: 18,
  TUPLE_IP: 1,
  TUPLE_PROTO: 2,
  IP_V4_SRC: 1,
  IP_V4_DST: 2,
  PROTO_NUM: 1,
} as const;
const IPPROTO_TCP = 6;

/** One conntrack entry, as much as we need: who sent it, where replies go, and how to name it for a delete. */
export interface CtEntry {
  origSrc: string;
  /** The IP protocol (6 TCP, 17 UDP, …), when the dump carried it. */
  proto?: number;
  /** The reply's destination: after SNAT/masquerade, the address the flow was translated to. */
  replyDst: string;
  /** The raw CTA_TUPLE_ORIG attribute (header included), echoed back in a delete. */
  origTuple: Buffer;
  /** The raw CTA_ZONE attribute when the entry has one (a delete must name the same zone). */
  zone?: Buffer;
}

/** A netfilter message: the netlink header, then nfgenmsg (family, version 0, res_id 0). */
export function nfHeader(len: number, type: number, flags: number, seq: number): Buffer {
  const b = nlHeader(len, type, flags, seq);
  b[C.NLMSG_HDRLEN] = C.AF_INET;
  return b;
}

/** Dump every IPv4 conntrack entry. */
export function ctDumpRequest(seq: number): Buffer {
  return nfHeader(C.NLMSG_HDRLEN + 4, IPCTNL_MSG_CT_GET, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
}

/** Deletes one entry by its original tuple (and zone). Never built without a tuple: that would flush the table. */
export function ctDeleteRequest(e: CtEntry, seq: number): Buffer {
  if (e.origTuple.length < 4) throw new Error('conntrack delete without a tuple would flush the whole table');
  const zone = e.zone ?? Buffer.alloc(0);
  const len = C.NLMSG_HDRLEN + 4 + align4(e.origTuple.length) + align4(zone.length);
  const b = nfHeader(len, IPCTNL_MSG_CT_DELETE, C.NLM_F_REQUEST | C.NLM_F_ACK, seq);
  e.origTuple.copy(b, C.NLMSG_HDRLEN + 4);
  zone.copy(b, C.NLMSG_HDRLEN + 4 + align4(e.origTuple.length));
  return b;
}

/** The IPv4 source or destination inside a CTA_TUPLE_* attribute's value. */
function tupleAddr(buf: Buffer, off: number, len: number, which: number): string | undefined {
  for (const [t, o, l] of attrs(buf, off, off + len)) {
    if (t !== CTA.TUPLE_IP) continue;
    for (const [it, io, il] of attrs(buf, o, o + l)) if (it === which && il === 4) return formatIp(buf, io, il);
  }
  return undefined;
}

/** The IP protocol number inside a CTA_TUPLE_* attribute's value. */
function tupleProto(buf: Buffer, off: number, len: number): number | undefined {
  for (const [t, o, l] of attrs(buf, off, off + len)) {
    if (t !== CTA.TUPLE_PROTO) continue;
    for (const [it, io, il] of attrs(buf, o, o + l)) if (it === CTA.PROTO_NUM && il >= 1) return buf[io];
  }
  return undefined;
}

/** Parses a CT_NEW message of a dump; undefined for anything that is not a complete IPv4 entry. */
export function parseCtEntry(m: NlMessage): CtEntry | undefined {
  const body = m.off + 4; // after nfgenmsg
  if (body > m.end || m.buf[m.off] !== C.AF_INET) return undefined;
  let origSrc: string | undefined,
    proto: number | undefined,
    replyDst: string | undefined,
    origTuple: Buffer | undefined,
    zone: Buffer | undefined;
  for (const [t, o, l] of attrs(m.buf, body, m.end)) {
    if (t === CTA.TUPLE_ORIG) {
      origSrc = tupleAddr(m.buf, o, l, CTA.IP_V4_SRC);
      proto = tupleProto(m.buf, o, l);
      origTuple = Buffer.from(m.buf.subarray(o - 4, o + l));
    } else if (t === CTA.TUPLE_REPLY) {
      replyDst = tupleAddr(m.buf, o, l, CTA.IP_V4_DST);
    } else if (t === CTA.ZONE) {
      zone = Buffer.from(m.buf.subarray(o - 4, o + l));
    }
  }
  if (!origSrc || !replyDst || !origTuple) return undefined;
  return { origSrc, replyDst, origTuple, ...(proto !== undefined ? { proto } : {}), ...(zone ? { zone } : {}) };
}

/**
 * Entries pinned by SNAT to one of `addrs`: the reply goes to that address although the
 * original did not come from it (the gateway's own flows from that address are left alone).
 */
export function pinnedTo(e: CtEntry, addrs: ReadonlySet<string>): boolean {
  return addrs.has(e.replyDst) && e.origSrc !== e.replyDst;
}

/**
 * Flows a routed block started that its new path cannot carry as they are: NATed ones (they
 * left through another uplink; back on a via uplink they would keep that address) and un-NATed
 * ones of other protocols than TCP (rerouted off the via uplinks they would never be NATed, and
 * a UDP flow with fixed ports never times out while it keeps sending). Un-NATed TCP flows are
 * kept: a new connection gets a new tuple anyway, and the old one resumes if its ISP is back.
 */
export function reroutedFrom(e: CtEntry, inBlock: (ip: string) => boolean): boolean {
  if (!inBlock(e.origSrc)) return false;
  return e.replyDst !== e.origSrc || e.proto !== IPPROTO_TCP;
}
