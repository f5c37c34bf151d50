/** Matching packets against the demand rules (pure); the language itself is config/demand-rules.ts. */
import { ipToInt, maskOf, type DemandAction, type DemandRule, type PortRange } from '../config/demand-rules.js';
import type { PacketInfo } from './packet.js';

const inRange = (r: PortRange, port: number | undefined): boolean =>
  port !== undefined && port >= r.first && port <= r.last;

// Rules come from the config (a handful of CIDRs), packets come often: parse each CIDR once.
const cidrCache = new Map<string, { net: number; mask: number }>();
function inCidr(ip: string, cidr: string): boolean {
  let c = cidrCache.get(cidr);
  if (!c) {
    const [addr, len] = cidr.split('/');
    const mask = maskOf(len === undefined ? 32 : Number(len));
    c = { net: (ipToInt(addr!) & mask) >>> 0, mask };
    cidrCache.set(cidr, c);
  }
  return (ipToInt(ip) & c.mask) >>> 0 === c.net;
}

/** Whether the rule matches a packet going `direction` (out: towards the Internet). */
export function matches(r: DemandRule, p: PacketInfo, direction: 'in' | 'out'): boolean {
  if (r.direction !== undefined && r.direction !== direction) return false;
  if (r.proto !== 'any' && p.proto !== r.proto) return false;
  if (r.sport && !inRange(r.sport, p.sport)) return false;
  if (r.dport && !inRange(r.dport, p.dport)) return false;
  if (r.port && !inRange(r.port, p.sport) && !inRange(r.port, p.dport)) return false;
  if (r.from !== undefined && !inCidr(p.src, r.from)) return false;
  if (r.to !== undefined && !inCidr(p.dst, r.to)) return false;
  if (r.host !== undefined && !inCidr(p.src, r.host) && !inCidr(p.dst, r.host)) return false;
  if (r.syn && !(p.tcpFlags?.syn && !p.tcpFlags.ack)) return false;
  if (r.fin && !(p.tcpFlags?.fin || p.tcpFlags?.rst)) return false;
  return true;
}

export function firstMatch(rules: DemandRule[], p: PacketInfo, direction: 'in' | 'out'): DemandRule | undefined {
  return rules.find((r) => matches(r, p, direction));
}

/** Whether a match brings the link up. */
export const dials = (a: DemandAction): boolean => a === 'accept' || a === 'bringup';
/** Whether a match keeps the link up. */
export const keeps = (a: DemandAction): boolean => a === 'accept' || a === 'keepup';
