/**
 * Hairpin NAT: LAN hosts that use an uplink's public address for a forwarded
 * service. Only forwards with `zone:` take part; few do, so they are rules, not maps.
 */
import { portRange } from '../config/schema-sections.js';
import { parseTarget, type ForwardSpec } from './forwards.js';
import { ct, eq, ifMatch, isIn, meta, payload, portExpr, zoneSet, type Stmt } from '../model/nft.js';

export const WAN_ADDRS4 = 'wan_addrs4';

/**
 * Hairpin: a forward with `zone: Z` also answers Z's hosts that use an uplink's
 * public address (IPv4: IPv6 needs no NAT to reach a LAN host).
 */
export function hairpinDnat(forwards: ForwardSpec[]): { c: string; e: Stmt[] }[] {
  return forwards.flatMap((f, index) => {
    const t = parseTarget(f.to);
    if (!f.zone || !t || t.family !== 4) return [];
    const { first, last } = portRange(f.port);
    return [
      {
        c: `forwards[${index}] hairpin: zone ${f.zone} to an uplink address, ${f.proto} ${f.port}`,
        e: [
          ifMatch('iifname', `@${zoneSet(f.zone)}`),
          eq(payload('ip', 'daddr'), `@${WAN_ADDRS4}`),
          eq(payload(f.proto, 'dport'), portExpr(first, last)),
          { dnat: { family: 'ip', addr: t.addr, ...(t.port === undefined || first !== last ? {} : { port: t.port }) } },
        ],
      },
    ];
  });
}

/** A hairpinned connection to a host in the client's own zone must come back through us: masquerade it. */
export function hairpinMasquerade(forwards: ForwardSpec[]): { c: string; e: Stmt[] }[] {
  const zones = [...new Set(forwards.flatMap((f) => (f.zone ? [f.zone] : [])))].sort();
  return zones.map((z) => ({
    c: `hairpin inside zone ${z}: the server answers through the gateway`,
    e: [
      eq(meta('nfproto'), 'ipv4'),
      ifMatch('iifname', `@${zoneSet(z)}`),
      ifMatch('oifname', `@${zoneSet(z)}`),
      isIn(ct('status'), 'dnat'),
      { masquerade: null },
    ],
  }));
}
