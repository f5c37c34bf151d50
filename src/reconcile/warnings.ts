/**
 * Warnings about setups that pass validation but cannot work as written, from the config and
 * the addresses on the interfaces (observed by the daemon, or read by `uplink check` on the
 * gateway itself): a port forward to the gateway's own uplink address or to no LAN network;
 * an uplink carrying LAN IPv6 from a prefix its ISP does not route (BCP 38 drops it: real
 * IPv6 multihoming needs NPTv6 or prefixes from every ISP, which uplinkd does not do yet).
 */
import { BlockList } from 'node:net';
import type { Config } from '../config/schema.js';
import { ipToInt, maskOf } from '../config/demand-rules.js';
import { familyOf } from '../model/nft.js';
import { parseTarget } from '../firewall/forwards.js';
import { routedWarnings, forwardOpenWarnings } from './routed-warnings.js';
import type { ConfigWarning, IfAddr } from './warning-types.js';

export type { ConfigWarning, IfAddr } from './warning-types.js';

/** A global unicast IPv6 address (2000::/3): the prefixes a provider assigns. */
export const isGlobal6 = (ip: string) => /^[23]/i.test(ip);

/** The networks these addresses are on, as a lookup (IPv4 by integer masks: BlockList costs ~2.5 µs a lookup). */
function networks(addrs: IfAddr[]): (ip: string) => boolean {
  const v4 = addrs
    .filter((a) => a.family === 4)
    .map((a) => ({ mask: maskOf(a.prefixlen), net: (ipToInt(a.address) & maskOf(a.prefixlen)) >>> 0 }));
  const v6 = new BlockList();
  for (const a of addrs) if (a.family === 6) v6.addSubnet(a.address, a.prefixlen, 'ipv6');
  return (ip) => {
    if (familyOf(ip) === 6) return v6.check(ip, 'ipv6');
    const n = ipToInt(ip);
    return v4.some((x) => (n & x.mask) >>> 0 === x.net);
  };
}

/** Forward warnings listed one by one; the rest are counted. */
const MAX_LISTED = 20;

function forwardWarnings(cfg: Config, addrs: IfAddr[]): ConfigWarning[] {
  const lanIfs = new Set(cfg.lan.map((l) => l.interface));
  const upIfs = new Map(Object.entries(cfg.uplinks).map(([n, u]) => [u.interface, n]));
  const lanAddrs = addrs.filter((a) => lanIfs.has(a.ifname));
  const lanNets = networks(lanAddrs);
  const own = new Map(addrs.filter((a) => upIfs.has(a.ifname)).map((a) => [a.address, upIfs.get(a.ifname)!]));
  const out: ConfigWarning[] = [];
  cfg.forwards.forEach((f, i) => {
    const ip = parseTarget(f.to)?.addr;
    if (ip === undefined) return;
    const uplink = own.get(ip);
    if (uplink !== undefined) {
      out.push({
        path: `forwards[${i}].to`,
        message: `forward target ${ip} is the gateway's own address on uplink ${uplink}: DNAT to it is never delivered`,
        hint: 'to reach a service on the gateway, open its port with firewall.input instead',
      });
    } else if (lanAddrs.length && !lanNets(ip)) {
      const nets = lanAddrs.map((a) => `${a.ifname} ${a.address}/${a.prefixlen}`).join(', ');
      out.push({
        path: `forwards[${i}].to`,
        message: `forward target ${ip} is in no LAN zone's network (${nets})`,
        hint: 'forwards go to hosts on a configured lan interface; check the address',
      });
    }
  });
  // Thousands of bad forwards are one problem: say it a few times and count the rest.
  if (out.length <= MAX_LISTED) return out;
  return [
    ...out.slice(0, MAX_LISTED),
    { path: 'forwards', message: `and ${out.length - MAX_LISTED} more forward(s) like these`, hint: out[0]!.hint },
  ];
}

/** Uplinks in `carriers` that carry IPv6 for a LAN prefix that is not one of theirs. */
function ipv6Warnings(cfg: Config, addrs: IfAddr[], carriers: string[]): ConfigWarning[] {
  const lanIfs = new Set(cfg.lan.map((l) => l.interface));
  const lan6 = addrs.filter((a) => lanIfs.has(a.ifname) && a.family === 6 && isGlobal6(a.address));
  const out: ConfigWarning[] = [];
  for (const name of carriers) {
    const u = cfg.uplinks[name];
    if (!u) continue;
    const mine = addrs.filter((a) => a.ifname === u.interface && a.family === 6 && isGlobal6(a.address));
    const declared = (u.ipv6_prefixes ?? []).flatMap((p) => {
      const [address, len] = p.split('/');
      return familyOf(address!) === 6
        ? [{ ifname: '', family: 6 as const, address: address!, prefixlen: Number(len ?? 128) }]
        : [];
    });
    const routed = networks([...mine, ...declared]);
    for (const l of lan6) {
      if (routed(l.address)) continue;
      const theirs = [...mine.map((a) => `${a.address}/${a.prefixlen}`), ...(u.ipv6_prefixes ?? [])];
      out.push({
        path: `uplinks.${name}`,
        message: `uplink ${name} carries IPv6 for ${l.ifname} (${l.address}/${l.prefixlen}), a prefix it does not route (its own: ${theirs.join(', ') || 'none'}): an ISP that filters foreign source addresses drops that traffic`,
        hint: `if ${name}'s ISP routes that prefix to you, list it in uplinks.${name}.ipv6_prefixes; else IPv6 does not fail over to ${name} (docs/uplinks.md, "IPv6 and failover")`,
      });
    }
  }
  return out;
}

/** Every warning for this config on these addresses; `ipv6Carriers`: uplinks that may carry IPv6 now. */
export function configWarnings(cfg: Config, addrs: IfAddr[], ipv6Carriers: string[]): ConfigWarning[] {
  return [
    ...forwardWarnings(cfg, addrs),
    ...ipv6Warnings(cfg, addrs, ipv6Carriers),
    ...routedWarnings(cfg, addrs),
    ...forwardOpenWarnings(cfg),
  ];
}
