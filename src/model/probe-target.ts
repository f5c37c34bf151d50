/**
 * Probe target parsing. Pure. Targets are IP addresses: a probe must not depend on DNS,
 * which may itself go out through the dead uplink.
 */
import { isIP } from 'node:net';

export const NOT_AN_IP = 'probe targets must be IP addresses';

export interface Endpoint {
  host: string;
  family: 4 | 6;
  port: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function family(host: string): 4 | 6 | 0 {
  return isIP(host) as 4 | 6 | 0;
}

function port(text: string, target: string): Parsed<number> {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    return fail(`bad port in probe target "${target}"`);
  return { ok: true, value: Number(text) };
}

/**
 * "IP", "IP:PORT", "[v6]:PORT" or a bare IPv6 address. Without a port, `defaultPort` is
 * used; when it is undefined the port is required.
 */
export function parseEndpoint(target: string, defaultPort?: number): Parsed<Endpoint> {
  const t = target.trim();
  const bare = family(t);
  if (bare) {
    if (defaultPort === undefined) return fail(`probe target "${target}" needs a port (IP:PORT or [v6]:PORT)`);
    return { ok: true, value: { host: t, family: bare, port: defaultPort } };
  }
  const m = /^\[([^\]]+)\]:([^:]*)$/.exec(t) ?? /^([^:[\]]+):([^:]*)$/.exec(t);
  if (!m) return fail(`${NOT_AN_IP}: "${target}"`);
  const host = m[1]!;
  const f = family(host);
  if (!f) return fail(`${NOT_AN_IP}: "${target}"`);
  if (f === 6 && !t.startsWith('[')) return fail(`${NOT_AN_IP}: "${target}"`);
  const p = port(m[2]!, target);
  if (!p.ok) return p;
  return { ok: true, value: { host, family: f, port: p.value } };
}

/** An ICMP target: exactly one IP address. */
export function parseIcmpTarget(target: string): Parsed<{ host: string; family: 4 | 6 }> {
  const t = target.trim();
  const f = family(t);
  return f ? { ok: true, value: { host: t, family: f } } : fail(`${NOT_AN_IP}: "${target}"`);
}

/** An http(s) URL whose host is an IP address. */
export function parseHttpTarget(target: string): Parsed<{ url: URL; host: string; family: 4 | 6 }> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return fail(`bad probe URL "${target}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`probe URL "${target}" is not http or https`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const f = family(host);
  if (!f) return fail(`${NOT_AN_IP}: "${target}"`);
  return { ok: true, value: { url, host, family: f } };
}

/** The source address must be an IP of the target's family. */
export function checkSource(source: string | undefined, targetFamily: 4 | 6): string | undefined {
  if (source === undefined) return undefined;
  const f = family(source);
  if (!f) return `probe source "${source}" is not an IP address`;
  if (f !== targetFamily) return `probe source ${source} is IPv${f} but the target is IPv${targetFamily}`;
  return undefined;
}

/** The address family a probe target of this method goes to (4 when it cannot tell). */
export function targetFamily(method: string, target: string): 4 | 6 {
  if (method === 'http') {
    try {
      return isIP(new URL(target).hostname.replace(/^\[|\]$/g, '')) === 6 ? 6 : 4;
    } catch {
      return 4;
    }
  }
  const e = parseEndpoint(target, 1);
  return e.ok ? e.value.family : 4;
}

/** fe80::/10: reachable only with the interface named (its scope). */
export function isLinkLocal6(host: string): boolean {
  return isIP(host) === 6 && /^fe[89ab][0-9a-f]:/i.test(host);
}

/**
 * A link-local IPv6 target with the interface scope it needs (`fe80::1%wan1`, or
 * `[fe80::1%wan1]:53`), for icmp, dns and tcp; undefined when the target needs none. Such a
 * probe proves the link, not the uplink's table (it leaves by the link-local route).
 */
export function scopedTarget(method: string, target: string, iface: string): string | undefined {
  if (method === 'http' || target.includes('%')) return undefined;
  if (isLinkLocal6(target)) return `${target}%${iface}`;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(target);
  return m && isLinkLocal6(m[1]!) ? `[${m[1]}%${iface}]:${m[2]}` : undefined;
}
