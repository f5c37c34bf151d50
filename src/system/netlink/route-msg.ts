/**
 * RTM_NEWROUTE / RTM_DELROUTE and RTM_NEWRULE / RTM_DELRULE requests for our own routes
 * and rules (pure). Sent straight over rtnetlink instead of spawning `ip`: a spawn costs
 * ~10 ms, which is most of the time between a dialed link coming up and its held packets
 * going out. Every request names our protocol, so even a delete can never hit a foreign
 * route or rule.
 */
import { isIPv4 } from 'node:net';
import * as C from './constants.js';
import { ipBytes, nlAttr, nlHeader, u32le } from './codec.js';
import type { RouteSpec, RuleSpec } from '../../model/ops.js';

const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const FR_ACT_TO_TBL = 1;
const TYPES: Record<RouteSpec['type'], number> = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 };

/**
 * rtmsg and fib_rule_hdr are both 12 bytes, with the family first and the 8-bit table at 4
 * (RT_TABLE_UNSPEC when it does not fit: the 32-bit table attribute carries it). `fill` sets
 * the rest of the header.
 */
function request(
  type: number,
  flags: number,
  seq: number,
  family: 4 | 6,
  table: number,
  attrs: Buffer[],
  fill: (h: Buffer) => void,
): Buffer {
  const body = Buffer.concat(attrs);
  const b = nlHeader(C.NLMSG_HDRLEN + 12 + body.length, type, C.NLM_F_REQUEST | C.NLM_F_ACK | flags, seq);
  const h = b.subarray(C.NLMSG_HDRLEN, C.NLMSG_HDRLEN + 12);
  h[0] = family === 4 ? C.AF_INET : C.AF_INET6;
  h[4] = table < 256 ? table : 0;
  fill(h);
  body.copy(b, C.NLMSG_HDRLEN + 12);
  return b;
}

/** The request for `ip route add|replace|del` of one of our routes; `oif` is the device's index. */
export function routeRequest(
  op: 'add' | 'replace' | 'del',
  r: RouteSpec,
  oif: number | undefined,
  seq: number,
): Buffer {
  const family = r.family;
  if (r.gateway && isIPv4(r.gateway) !== (family === 4)) throw new Error(`gateway ${r.gateway} is not IPv${family}`);
  const attrs = [nlAttr(C.RTA_TABLE, u32le(r.table)), nlAttr(C.RTA_PRIORITY, u32le(r.metric))];
  if (r.dstLen > 0) attrs.push(nlAttr(C.RTA_DST, ipBytes(r.dst, family)));
  if (r.gateway) attrs.push(nlAttr(C.RTA_GATEWAY, ipBytes(r.gateway, family)));
  if (oif !== undefined) attrs.push(nlAttr(C.RTA_OIF, u32le(oif)));
  const flags = op === 'add' ? C.NLM_F_CREATE | C.NLM_F_EXCL : op === 'replace' ? C.NLM_F_CREATE | C.NLM_F_REPLACE : 0;
  return request(op === 'del' ? C.RTM_DELROUTE : C.RTM_NEWROUTE, flags, seq, family, r.table, attrs, (h) => {
    h[1] = r.dstLen;
    h[5] = r.protocol;
    // As iproute2: a device route without a gateway is link scope; a delete matches any scope.
    h[6] = op === 'del' ? RT_SCOPE_NOWHERE : r.type === 'unicast' && !r.gateway ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    h[7] = TYPES[r.type];
  });
}

/** The request for `ip rule add|del` of one of our rules. */
export function ruleRequest(op: 'add' | 'del', r: RuleSpec, seq: number): Buffer {
  const family = r.family;
  const attrs = [
    nlAttr(C.FRA_PRIORITY, u32le(r.priority)),
    nlAttr(C.FRA_TABLE, u32le(r.table)),
    nlAttr(C.FRA_PROTOCOL, Buffer.from([r.protocol])),
  ];
  if (r.src) attrs.push(nlAttr(C.FRA_SRC, ipBytes(r.src, family)));
  if (r.fwmark !== undefined)
    attrs.push(nlAttr(C.FRA_FWMARK, u32le(r.fwmark)), nlAttr(C.FRA_FWMASK, u32le(r.fwmask ?? 0xffffffff)));
  if (r.suppressPrefixlen !== undefined) attrs.push(nlAttr(C.FRA_SUPPRESS_PREFIXLEN, u32le(r.suppressPrefixlen)));
  const flags = op === 'add' ? C.NLM_F_CREATE | C.NLM_F_EXCL : 0;
  return request(op === 'add' ? C.RTM_NEWRULE : C.RTM_DELRULE, flags, seq, family, r.table, attrs, (h) => {
    h[2] = r.src ? (r.srcLen ?? (family === 4 ? 32 : 128)) : 0;
    h[7] = FR_ACT_TO_TBL;
  });
}
