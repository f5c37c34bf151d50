/**
 * A demand rule's matchers as libnftables JSON match statements, for chains that see only
 * IPv4 packets through one uplink interface. Shapes are those `nft -j list` prints
 * (nftables 1.0.6), so a rendered rule reads like its listing. Pure.
 */
import { and, eq, isIn, meta, payload, portExpr, prefix, type Stmt } from '../model/nft.js';
import type { DemandRule, PortRange } from '../config/demand-rules.js';

const ports = (proto: 'tcp' | 'udp', field: 'sport' | 'dport', r: PortRange): Stmt =>
  eq(payload(proto, field), portExpr(r.first, r.last));

/** A single address as itself (as nft lists it), a network as a prefix. */
const addr = (field: 'saddr' | 'daddr', cidr: string): Stmt =>
  eq(payload('ip', field), cidr.endsWith('/32') ? cidr.slice(0, -3) : prefix(cidr));

/** /0 matches every IPv4 packet, and these chains see nothing else: no statement at all. */
const everything = (cidr: string | undefined): boolean => cidr === undefined || cidr.endsWith('/0');

/**
 * Alternatives: the rule matches when ALL statements of ANY one list match (`port` and
 * `host` match either end, so each doubles the lists). Neither direction nor action is
 * included; the caller adds those. A rule without matchers gives one empty list.
 */
export function ruleMatches(r: DemandRule): Stmt[][] {
  const l4 = r.proto === 'tcp' || r.proto === 'udp' ? r.proto : undefined;
  if ((r.port || r.sport || r.dport) && !l4) throw new Error(`ports need tcp or udp: ${r.text}`);
  if ((r.syn || r.fin) && r.proto !== 'tcp') throw new Error(`syn and fin need tcp: ${r.text}`);
  let lists: Stmt[][] = [[]];
  const all = (s: Stmt) => {
    lists = lists.map((l) => [...l, s]);
  };
  const either = (a: Stmt, b: Stmt) => {
    lists = lists.flatMap((l) => [
      [...l, a],
      [...l, b],
    ]);
  };

  // `tcp dport` and `tcp flags` imply `meta l4proto tcp` (nft adds the dependency itself and
  // leaves it out of listings), so the protocol gets its own match only when nothing implies it.
  const implied = r.port || r.sport || r.dport || r.syn || r.fin;
  if (r.proto !== 'any' && !implied) all(eq(meta('l4proto'), r.proto));
  if (!everything(r.from)) all(addr('saddr', r.from!));
  if (!everything(r.to)) all(addr('daddr', r.to!));
  if (!everything(r.host)) either(addr('saddr', r.host!), addr('daddr', r.host!));
  if (l4 && r.sport) all(ports(l4, 'sport', r.sport));
  if (l4 && r.dport) all(ports(l4, 'dport', r.dport));
  if (l4 && r.port) either(ports(l4, 'sport', r.port), ports(l4, 'dport', r.port));
  // syn: SYN without ACK (`tcp flags syn / syn,ack`); fin: FIN or RST set (`tcp flags fin,rst`,
  // which is `tcp flags & (fin|rst) != 0`; nft lists it as an "in" match on the flag list).
  if (r.syn) all(eq(and(payload('tcp', 'flags'), ['syn', 'ack']), 'syn'));
  if (r.fin) all(isIn(payload('tcp', 'flags'), ['fin', 'rst']));
  return lists;
}
