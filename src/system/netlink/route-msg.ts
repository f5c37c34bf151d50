/**
 * RTM_NEWROUTE / RTM_DELROUTE and RTM_NEWRULE / RTM_DELRULE requests for our own routes
 * and rules (pure). Sent straight over
 * rtnetlink instead of spawning `ip`: a spawn costs ~10 ms, which is most of the time
 * between a dialed link coming up and its held packets going out.
 */
import { isIPv4 } from 'node:net';
import * as C from './constants.js';
import type { RouteSpec, RuleSpec } from '../ops.js';

const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const TYPES: Record<RouteSpec['type'], number> = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 };

function ipBytes(addr: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(addr.split('.').map(Number));
  const [head = '', tail] = addr.split('::');
  const parts = (s: string) => (s ? s.split(':') : []);
  const h = parts(head), t = tail === undefined ? [] : parts(tail);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function attr(type: number, value: Buffer): Buffer {
  const b = Buffer.alloc((4 + value.length + 3) & ~3);
  b.writeUInt16LE(4 + value.length, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, 4);
  return b;
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** The request for `ip route add|replace|del` of one of our routes; `oif` is the device's index. */
export function routeRequest(op: 'add' | 'replace' | 'del', r: RouteSpec, oif: number | undefined, seq: number): Buffer {
  const family = r.family;
  if (r.gateway && isIPv4(r.gateway) !== (family === 4)) throw new Error(`gateway ${r.gateway} is not IPv${family}`);
  const attrs: Buffer[] = [attr(C.RTA_TABLE, u32(r.table)), attr(C.RTA_PRIORITY, u32(r.metric))];
  if (r.dstLen > 0) attrs.push(attr(C.RTA_DST, ipBytes(r.dst, family)));
  if (r.gateway) attrs.push(attr(C.RTA_GATEWAY, ipBytes(r.gateway, family)));
  if (oif !== undefined) attrs.push(attr(C.RTA_OIF, u32(oif)));
  const body = Buffer.concat(attrs);
  const len = C.NLMSG_HDRLEN + 12 + body.length;
  const b = Buffer.alloc(len);
  const flags = C.NLM_F_REQUEST | NLM_F_ACK | (op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : op === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(op === 'del' ? C.RTM_DELROUTE : C.RTM_NEWROUTE, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  const o = C.NLMSG_HDRLEN;
  b[o] = family === 4 ? C.AF_INET : C.AF_INET6;
  b[o + 1] = r.dstLen;
  b[o + 4] = r.table < 256 ? r.table : 0; // RT_TABLE_UNSPEC: RTA_TABLE carries it
  b[o + 5] = r.protocol; // a delete names our protocol too, so it can never hit a foreign route
  // As iproute2: a device route without a gateway is link scope; a delete matches any scope.
  b[o + 6] = op === 'del' ? RT_SCOPE_NOWHERE : r.type === 'unicast' && !r.gateway ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  b[o + 7] = TYPES[r.type];
  body.copy(b, o + 12);
  return b;
}

const FR_ACT_TO_TBL = 1;
const u8 = (v: number) => Buffer.from([v]);

/** The request for `ip rule add|del` of one of our rules (a delete names our protocol too). */
export function ruleRequest(op: 'add' | 'del', r: RuleSpec, seq: number): Buffer {
  const family = r.family;
  const srcLen = r.src ? r.srcLen ?? (family === 4 ? 32 : 128) : 0;
  const attrs: Buffer[] = [attr(C.FRA_PRIORITY, u32(r.priority)), attr(C.FRA_TABLE, u32(r.table)), attr(C.FRA_PROTOCOL, u8(r.protocol))];
  if (r.src) attrs.push(attr(C.FRA_SRC, ipBytes(r.src, family)));
  if (r.fwmark !== undefined) attrs.push(attr(C.FRA_FWMARK, u32(r.fwmark)), attr(C.FRA_FWMASK, u32(r.fwmask ?? 0xffffffff)));
  if (r.suppressPrefixlen !== undefined) attrs.push(attr(C.FRA_SUPPRESS_PREFIXLEN, u32(r.suppressPrefixlen)));
  const body = Buffer.concat(attrs);
  const len = C.NLMSG_HDRLEN + 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(op === 'add' ? C.RTM_NEWRULE : C.RTM_DELRULE, 4);
  b.writeUInt16LE(C.NLM_F_REQUEST | NLM_F_ACK | (op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  b.writeUInt32LE(seq, 8);
  const o = C.NLMSG_HDRLEN;
  b[o] = family === 4 ? C.AF_INET : C.AF_INET6;
  b[o + 2] = srcLen;
  b[o + 4] = r.table < 256 ? r.table : 0;
  b[o + 7] = FR_ACT_TO_TBL;
  body.copy(b, o + 12);
  return b;
}
