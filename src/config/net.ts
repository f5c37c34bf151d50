/**
 * Pure checks for network-ish strings in the config: IP addresses, CIDRs, host:port,
 * kernel interface names, URLs. Each returns undefined when fine, or a hinted message.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { hinted } from './errors.js';

export { isIP, isIPv4, isIPv6 };

const q = (s: string): string => JSON.stringify(s);

/** Looks like a DNS name rather than an address (used to say "probes must not depend on DNS"). */
export function looksLikeHostname(s: string): boolean {
  return (
    /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(s) &&
    /[A-Za-z]/.test(s) &&
    !isIP(s)
  );
}

export function checkIp(s: string, family?: 4 | 6): string | undefined {
  const v = isIP(s);
  if (v !== 0 && (family === undefined || v === family)) return undefined;
  if (v !== 0) return hinted(`${q(s)} is an IPv${v} address`, `an IPv${family} address is needed here`);
  if (s.includes('/')) return hinted(`${q(s)} is not an IP address`, 'write the address without a /prefix');
  if (looksLikeHostname(s)) {
    return hinted(`${q(s)} is not an IP address`, 'write an address like 198.51.100.1, not a host name');
  }
  return hinted(
    `${q(s)} is not an IP address`,
    `write an address like ${family === 6 ? '2001:db8::1' : '198.51.100.1'}`,
  );
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const family = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address: m[1]!, prefix, family: family as 4 | 6 };
}

export function checkCidr(s: string): string | undefined {
  if (parseCidr(s)) return undefined;
  const m = /^([^/]+)\/(.*)$/.exec(s);
  if (!m) {
    if (isIP(s)) return hinted(`${q(s)} is not a CIDR`, `add the prefix length, e.g. ${s}/${isIPv4(s) ? 24 : 64}`);
    return hinted(`${q(s)} is not a CIDR`, 'write address/prefix, e.g. 192.0.2.10/24');
  }
  const fam = isIP(m[1]!);
  if (fam === 0) return hinted(`${q(s)} is not a CIDR`, `${q(m[1]!)} is not an IP address`);
  return hinted(`${q(s)} is not a CIDR`, `the prefix length must be 0..${fam === 4 ? 32 : 128}`);
}

export interface HostPort {
  host: string;
  port: number;
}

/** `1.2.3.4:80`, `[2001:db8::1]:80`, `name:80`; undefined if there is no valid port. */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

/** Addresses no port forward can deliver to: a forward needs a host's unicast address. */
const NOWHERE: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'is unspecified ("this host")'],
  [
    '127.0.0.0',
    8,
    'ipv4',
    "is loopback: DNAT to it is dropped as a martian (it never reaches the gateway's own services)",
  ],
  ['224.0.0.0', 4, 'ipv4', 'is multicast'],
  ['255.255.255.255', 32, 'ipv4', 'is the broadcast address'],
  ['::', 128, 'ipv6', 'is unspecified'],
  ['::1', 128, 'ipv6', 'is loopback: DNAT to it is dropped as a martian'],
  ['ff00::', 8, 'ipv6', 'is multicast'],
];
const nowhere = new BlockList();
for (const [net, len, fam] of NOWHERE) nowhere.addSubnet(net, len, fam);

/** Why a port forward can never reach `ip` (loopback, unspecified, broadcast, multicast), or undefined. */
export function checkForwardHost(ip: string): string | undefined {
  const addr = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
  const fam = isIPv4(addr) ? 'ipv4' : 'ipv6';
  // One lookup for every forward (validation of 60,000 must stay fast); which range, only on a hit.
  if (!nowhere.check(addr, fam)) return undefined;
  const hit = NOWHERE.find(([net, len, f]) => {
    const one = new BlockList();
    one.addSubnet(net, len, f);
    return f === fam && one.check(addr, fam);
  });
  if (!hit) return undefined;
  return hinted(
    `forward target ${ip} ${hit![3]}`,
    "forward to a LAN host's address; to reach a service on the gateway itself, open it with firewall.input",
  );
}

/** `ip:port` where ip is an IP address (IPv6 in brackets). */
export function checkIpPort(s: string, what = 'address'): string | undefined {
  const hp = parseHostPort(s);
  if (hp) {
    if (isIPv4(hp.host) || (isIPv6(hp.host) && s.startsWith('['))) return undefined;
    if (looksLikeHostname(hp.host)) {
      return hinted(`${q(s)} names a host, not an IP address`, 'write an IP address, e.g. 192.0.2.10:80');
    }
  }
  if (isIPv4(s)) return hinted(`${q(s)} has no port`, `write ${s}:PORT`);
  if (isIPv6(s)) return hinted(`${q(s)} has no port`, `write [${s}]:PORT`);
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (m && isIP(m[1]!.replace(/^\[|\]$/g, ''))) return hinted(`${q(s)} has a bad port`, 'ports are 1..65535');
  return hinted(`${q(s)} is not an IP:port ${what}`, 'write e.g. 192.0.2.10:80 or [2001:db8::10]:80');
}

/** Kernel interface name rules (dev_valid_name): 1–15 bytes, no '/', ':' or white space, not '.'/'..'. */
export function checkIfname(s: string): string | undefined {
  const HINT = 'interface names are 1–15 characters without /, : or spaces';
  if (s.length === 0) return hinted('interface name is empty', HINT);
  const bytes = Buffer.byteLength(s);
  // The kernel counts bytes (IFNAMSIZ): "é" is two of them.
  if (bytes > 15)
    return hinted(
      bytes === s.length
        ? `interface name ${q(s)} is longer than 15 characters`
        : `interface name ${q(s)} is ${bytes} bytes long (${[...s].length} characters), more than the kernel's 15`,
      bytes === s.length ? HINT : 'the kernel counts bytes: a letter like é takes 2; use 1–15 ASCII characters',
    );
  if (s === '.' || s === '..') return hinted(`${q(s)} is not a valid interface name`, HINT);
  const bad = /[/:\s]/.exec(s);
  if (bad) {
    const what = bad[0] === '/' ? '"/"' : bad[0] === ':' ? '":"' : 'white space';
    const tip = bad[0] === ':' ? '; an alias like eth0:1 is not a separate interface, name eth0' : '';
    return hinted(`interface name ${q(s)} contains ${what}`, HINT + tip);
  }
  // The kernel allows these, but nftables reads "eth*" as a wildcard and "@x" as a set
  // reference: our ruleset would be refused or match the wrong interfaces.
  if (s.endsWith('*') || s.startsWith('@')) {
    return hinted(
      `interface name ${q(s)} ${s.startsWith('@') ? 'starts with "@"' : 'ends with "*"'}`,
      'nftables reads it as a set reference or wildcard; name the interface itself',
    );
  }
  return undefined;
}

export function checkUrl(s: string, schemes: readonly string[] = ['http', 'https']): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return hinted(`${q(s)} is not a URL`, `write a full URL, e.g. ${schemes[0]}://192.0.2.10/`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) {
    return hinted(`${q(s)} has scheme ${scheme}:`, `use ${schemes.map((x) => `${x}://`).join(' or ')}`);
  }
  return undefined;
}

/** `host:port` for a listening socket: IPv4, [IPv6] or localhost. */
export function checkListen(s: string): string | undefined {
  const hp = parseHostPort(s);
  const hint = 'write host:port, e.g. 127.0.0.1:8377 or [::1]:8377';
  if (!hp) return hinted(`${q(s)} is not host:port`, hint);
  if (hp.host !== 'localhost' && !isIP(hp.host)) {
    return hinted(`${q(s)} does not name an IP address to listen on`, hint);
  }
  return undefined;
}
