/**
 * Warnings about setups that pass validation but cannot work as written, from the config and
 * the addresses on the interfaces (observed by the daemon, or read by `uplink check` on the
 * gateway itself): a port forward to the gateway's own uplink address or to no LAN network;
 * an uplink carrying LAN IPv6 from a prefix its ISP does not route (BCP 38 drops it: real
 * IPv6 multihoming needs NPTv6 or prefixes from every ISP, which uplinkd does not do yet).
 */
import { BlockList } from 'node:net';
import type { Config } from '../config/schema.js';

export interface IfAddr {
  ifname: string;
  family: 4 | 6;
  address: string;
  prefixlen: number;
}

export interface ConfigWarning {
  /** Config path it is about, e.g. `forwards[3].to` or `uplinks.wan2`. */
  path: string;
  message: string;
  hint?: string;
}

const famName = (f: 4 | 6) => (f === 4 ? 'ipv4' : 'ipv6');
const hostOf = (to: string) => /^\[([^\]]+)\](?::\d+)?$/.exec(to)?.[1] ?? /^([^:]+)(?::\d+)?$/.exec(to)?.[1] ?? to;
const familyOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
const isGlobal6 = (ip: string) => /^[23]/i.test(ip);

/** The networks these addresses are on, as one set to look addresses up in. */
function networks(addrs: IfAddr[]): BlockList {
  const b = new BlockList();
  for (const a of addrs) b.addSubnet(a.address, a.prefixlen, famName(a.family));
  return b;
}

function forwardWarnings(cfg: Config, addrs: IfAddr[]): ConfigWarning[] {
  const lanIfs = new Set(cfg.lan.map((l) => l.interface));
  const upIfs = new Map(Object.entries(cfg.uplinks).map(([n, u]) => [u.interface, n]));
  const lanAddrs = addrs.filter((a) => lanIfs.has(a.ifname));
  const lanNets = networks(lanAddrs);
  const own = new Map(addrs.filter((a) => upIfs.has(a.ifname)).map((a) => [a.address, upIfs.get(a.ifname)!]));
  const out: ConfigWarning[] = [];
  cfg.forwards.forEach((f, i) => {
    const ip = hostOf(f.to);
    const uplink = own.get(ip);
    if (uplink !== undefined) {
      out.push({
        path: `forwards[${i}].to`,
        message: `forward target ${ip} is the gateway's own address on uplink ${uplink}: DNAT to it is never delivered`,
        hint: 'to reach a service on the gateway, open its port with firewall.input instead',
      });
    } else if (lanAddrs.length && !lanNets.check(ip, famName(familyOf(ip)))) {
      const nets = lanAddrs.map((a) => `${a.ifname} ${a.address}/${a.prefixlen}`).join(', ');
      out.push({
        path: `forwards[${i}].to`,
        message: `forward target ${ip} is in no LAN zone's network (${nets})`,
        hint: 'forwards go to hosts on a configured lan interface; check the address',
      });
    }
  });
  return out;
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
    const routed = networks(mine);
    for (const p of u.ipv6_prefixes ?? []) {
      const [net, len] = p.split('/');
      if (familyOf(net!) === 6) routed.addSubnet(net!, Number(len ?? 128), 'ipv6');
    }
    for (const l of lan6) {
      if (routed.check(l.address, 'ipv6')) continue;
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
  return [...forwardWarnings(cfg, addrs), ...ipv6Warnings(cfg, addrs, ipv6Carriers)];
}
