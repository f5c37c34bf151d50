/**
 * Warnings about routed prefixes (lan[].routed) on the running machine: a prefix that overlaps
 * another interface's network or holds an uplink's current address (a DHCP lease can land
 * there), and firewall.forward entries to addresses in no routed prefix (masqueraded hosts
 * need a port forward instead).
 */
import type { Config } from '../config/schema.js';
import { contains4, overlap4, prefix4, prefixText } from '../config/prefix4.js';
import type { ConfigWarning, IfAddr } from './warning-types.js';

export function routedWarnings(cfg: Config, addrs: IfAddr[]): ConfigWarning[] {
  const uplinkOf = new Map(Object.entries(cfg.uplinks).map(([n, u]) => [u.interface, n]));
  const out: ConfigWarning[] = [];
  cfg.lan.forEach((l, i) => {
    (l.routed ?? []).forEach((text, j) => {
      const p = prefix4(text);
      for (const a of addrs) {
        if (a.family !== 4 || a.ifname === l.interface) continue;
        const uplink = uplinkOf.get(a.ifname);
        const net = prefix4(`${a.address}/${a.prefixlen}`);
        if (uplink !== undefined && contains4(p, a.address))
          out.push({
            path: `lan[${i}].routed[${j}]`,
            message: `uplink ${uplink}'s address ${a.address} is inside routed prefix ${text}`,
            hint: `the routed block belongs behind the gateway on ${l.interface}; check the uplink's address (a DHCP lease?) and the ISP's papers`,
          });
        else if (overlap4(p, net))
          out.push({
            path: `lan[${i}].routed[${j}]`,
            message: `routed prefix ${text} overlaps ${prefixText(net)} on ${a.ifname}`,
            hint: `the routed block should be on ${l.interface} alone; traffic to the overlap goes where the more specific route says`,
          });
      }
    });
  });
  return out;
}

export function forwardOpenWarnings(cfg: Config): ConfigWarning[] {
  const routed = cfg.lan.flatMap((l) => (l.routed ?? []).map(prefix4));
  const out: ConfigWarning[] = [];
  cfg.firewall.forward.forEach((f, i) => {
    if (f.to.includes(':')) return; // IPv6 LAN prefixes are routed (never NATed) already.
    const to = prefix4(f.to);
    if (routed.some((p) => p.len <= to.len && overlap4(p, to))) return;
    out.push({
      path: `firewall.forward[${i}].to`,
      message: `${f.to} is in no routed prefix: it is masqueraded, so the uplinks cannot reach it by its address`,
      hint: 'to reach a host behind masquerade, add a port forward (forwards) instead; for a public server, list its block in lan[].routed',
    });
  });
  return out;
}
