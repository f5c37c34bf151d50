/** IP address text as the kernel reports it. Pure. */
import { isIP } from 'node:net';

/**
 * RFC 5952 form of an IPv6 address (lower case, the longest zero run as `::`), as our netlink
 * reader formats the kernel's: a configured `2001:DB8:0:0::1` must compare equal to the
 * kernel's `2001:db8::1`, or the planner replaces the route on every run. IPv4 and anything
 * that is not an IP are returned as they are.
 */
export function canonicalIp(address: string): string {
  if (isIP(address) !== 6 || address.includes('%')) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
