/**
 * Port forwards → DNAT maps and rules (pure).
 *
 * - Unrestricted single-port forwards to IP:PORT go into verdict-free maps, one pair per
 *   family and protocol, used by ONE rule however many forwards there are:
 *   `dnat ip to tcp dport map @fwd4_tcp : tcp dport map @fwd4_tcp_port`
 *   (fwd4_tcp: inet_service : ipv4_addr, fwd4_tcp_port: inet_service : inet_service, same
 *   keys). One map `inet_service : ipv4_addr . inet_service` would be a single lookup, but
 *   nft 1.0.6 cannot declare a map with concatenated data in JSON: its parser takes the
 *   `map` type only as a single type name and silently makes a plain set of anything else
 *   (fixed in later nft by "parser_json: allow concatenated map data types").
 * - Forwards that keep the port (`to` without a port, or a range whose `to` port is the
 *   range's first port) go into an interval map per family and protocol (`fwd4_tcp_keep`:
 *   inet_service : ipv4_addr): `dnat ip to tcp dport map @fwd4_tcp_keep`.
 * - Restricted forwards (`uplink`, `from`) and a range sent to one other port become rules
 *   of their own, placed before the map rules, so the more specific match wins.
 *
 * Conflicts resolve deterministically: within a map the earlier forward (config order) keeps
 * the port and the later one is reported in `notes` and left out (nft would reject a batch
 * with clashing map keys, and a rejected batch means no firewall update at all).
 */
import { isIP, parseHostPort } from '../config/net.js';
import { portRange } from '../config/schema-sections.js';
import type { Family, Proto } from '../model/nft.js';
import { familyOf } from '../model/nft.js';
import { PortOwners } from './port-owners.js';

export interface ForwardSpec {
  proto: Proto;
  port: number | string;
  to: string;
  uplink?: string | string[];
  zone?: string;
  from?: string[];
}

export interface DnatMapEntry {
  first: number;
  last: number;
  addr: string;
  /** Target port (maps that change the port); undefined in keep-port maps. */
  port?: number;
  /** Position in `forwards`. */
  index: number;
}

export interface DnatMap {
  /** fwd4_tcp (its port map is fwd4_tcp_port), fwd4_tcp_keep, fwd6_udp, ... */
  name: string;
  family: Family;
  proto: Proto;
  /** true: `name` is inet_service (interval) : ipvN_addr; false: `name` maps ports to addresses, `name`_port to ports. */
  keepPort: boolean;
  /** Sorted by port. */
  entries: DnatMapEntry[];
}

export interface DnatRule {
  /** Position in `forwards`. */
  index: number;
  family: Family;
  proto: Proto;
  first: number;
  last: number;
  /** Interfaces to match; undefined: every uplink (@wan_ifaces). */
  ifaces?: string[];
  /** Source CIDRs of the target's family; empty: any source. */
  from: string[];
  addr: string;
  /** Target port; undefined keeps the packet's port. */
  port?: number;
}

export interface ForwardNote {
  index: number;
  message: string;
}

export interface ForwardPlan {
  maps: DnatMap[];
  rules: DnatRule[];
  /** Forwards (or parts of them) not rendered, and why. */
  notes: ForwardNote[];
}

interface Target {
  addr: string;
  family: Family;
  port?: number;
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`; undefined when it is none of these. */
export function parseTarget(to: string): Target | undefined {
  if (isIP(to)) return { addr: to, family: familyOf(to) };
  const hp = parseHostPort(to);
  if (!hp || !isIP(hp.host)) return undefined;
  if (familyOf(hp.host) === 6 && !to.startsWith('[')) return undefined;
  return { addr: hp.host, family: familyOf(hp.host), port: hp.port };
}

const validPort = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;

export function planForwards(forwards: ForwardSpec[], uplinks: { name: string; iface: string }[]): ForwardPlan {
  const notes: ForwardNote[] = [];
  const rules: DnatRule[] = [];
  const maps = new Map<
    string,
    { family: Family; proto: Proto; keepPort: boolean; entries: DnatMapEntry[]; owners: PortOwners }
  >();
  const ifaceOf = new Map(uplinks.map((u) => [u.name, u.iface]));

  forwards.forEach((f, index) => {
    const note = (message: string): void => {
      notes.push({ index, message });
    };
    const target = parseTarget(f.to);
    if (!target) return note(`target ${JSON.stringify(f.to)} is not IP, IP:PORT or [IPv6]:PORT`);
    const { first, last } = portRange(f.port);
    if (!validPort(first) || !validPort(last) || first > last)
      return note(`port ${JSON.stringify(f.port)} is not a port or range`);
    const oneOtherPort = first !== last && target.port !== undefined && target.port !== first;
    const keepPort = target.port === undefined || (first !== last && target.port === first);
    const restricted = f.uplink !== undefined || f.from !== undefined;

    if (restricted || oneOtherPort) {
      let ifaces: string[] | undefined;
      if (f.uplink !== undefined) {
        const names = typeof f.uplink === 'string' ? [f.uplink] : f.uplink;
        ifaces = [...new Set(names.flatMap((n) => ifaceOf.get(n) ?? []))].sort();
        const unknown = names.filter((n) => !ifaceOf.has(n));
        if (unknown.length) note(`unknown uplink ${unknown.map((n) => JSON.stringify(n)).join(', ')} ignored`);
        if (!ifaces.length) return note('no configured uplink left to forward from: not rendered');
      }
      const from = [...new Set((f.from ?? []).filter((c) => familyOf(c) === target.family))].sort();
      if (f.from !== undefined && !from.length) {
        return note(`no IPv${target.family} source in "from" for an IPv${target.family} target: not rendered`);
      }
      rules.push({
        index,
        family: target.family,
        proto: f.proto,
        first,
        last,
        ...(ifaces ? { ifaces } : {}),
        from,
        addr: target.addr,
        ...(keepPort ? {} : { port: target.port! }),
      });
      return;
    }

    const name = `fwd${target.family}_${f.proto}${keepPort ? '_keep' : ''}`;
    // An earlier forward of the same family and protocol keeps its ports. Within one map a
    // clash would make nft reject the batch; across the two maps the port-map rule comes
    // first, so a later range only loses the single ports an earlier forward holds.
    const overlap = (s: string) => {
      const m = maps.get(s);
      const at = m?.owners.find(first, last);
      return at === undefined ? undefined : m!.entries[at];
    };
    const same = overlap(name);
    const other = overlap(`fwd${target.family}_${f.proto}${keepPort ? '' : '_keep'}`);
    const clash = same ?? (keepPort ? undefined : other);
    if (clash) return note(`port ${f.port}/${f.proto} overlaps forwards[${clash.index}], which keeps it: not rendered`);
    if (other) note(`ports of forwards[${other.index}] inside ${f.port}/${f.proto} stay with forwards[${other.index}]`);
    let m = maps.get(name);
    if (!m)
      maps.set(name, (m = { family: target.family, proto: f.proto, keepPort, entries: [], owners: new PortOwners() }));
    m.owners.take(first, last, m.entries.length);
    m.entries.push({ first, last, addr: target.addr, ...(keepPort ? {} : { port: target.port! }), index });
  });

  const out: DnatMap[] = [...maps.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, m]) => ({
      name,
      family: m.family,
      proto: m.proto,
      keepPort: m.keepPort,
      entries: [...m.entries].sort((a, b) => a.first - b.first),
    }));
  return { maps: out, rules, notes };
}
