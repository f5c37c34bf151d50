/**
 * IPv4 prefix arithmetic for routed prefixes (pure): containment, overlap, network form.
 * Integers, not BlockList: the checks run for every address on every reconcile.
 */
import { ipToInt, maskOf } from './demand-rules.js';

export interface Prefix4 {
  net: number;
  len: number;
}

export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** `203.0.113.64/27` → its network and length; a bare address is a /32. */
export function prefix4(cidr: string): Prefix4 {
  const [addr, len] = cidr.split('/') as [string, string | undefined];
  const l = len === undefined ? 32 : Number(len);
  return { net: (ipToInt(addr) & maskOf(l)) >>> 0, len: l };
}

export const prefixText = (p: Prefix4): string => `${intToIp(p.net)}/${p.len}`;

export function contains4(p: Prefix4, ip: string): boolean {
  return (ipToInt(ip) & maskOf(p.len)) >>> 0 === p.net;
}

/** Two prefixes overlap when the shorter one contains the other's network. */
export function overlap4(a: Prefix4, b: Prefix4): boolean {
  const len = Math.min(a.len, b.len);
  return (a.net & maskOf(len)) >>> 0 === (b.net & maskOf(len)) >>> 0;
}

/** Whether `cidr` is written in network form (no host bits set). */
export const isNetworkForm = (cidr: string): boolean => prefixText(prefix4(cidr)) === cidr;
