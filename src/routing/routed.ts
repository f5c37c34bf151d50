/**
 * Routed prefixes (lan[].routed): which `via` uplink carries each routed LAN entry now (pure).
 * Only the routing rules follow health; NAT for the prefixes is fixed in the ruleset
 * (docs/firewall.md, "Routed public networks").
 */
import { DEFAULT_ROUTED_FALLBACK } from '../config/schema-sections.js';
import type { Config } from '../config/schema.js';
import type { Family } from '../model/kernel.js';
import type { LinkFacts } from '../uplinks/facts.js';
import { routedTables } from './tables.js';

export interface RoutedEntry {
  /** Its position in `lan`. */
  lan: number;
  interface: string;
  zone: string;
  prefixes: string[];
  via: string[];
  fallback: 'masquerade' | 'drop';
  table: number;
  /** The usable `via` uplinks that can carry IPv4, best first; the first carries the prefixes. */
  carriers: string[];
}

/** What routing needs to know of an uplink (the manager's verdicts). */
export interface CarrierView {
  uplinks: ReadonlyMap<string, { iface: string; facts: LinkFacts; familyOk: Record<Family, boolean> }>;
  /** Usable uplinks, best first, whatever is forced or held back by a failback delay. */
  ranked: readonly string[];
}

/** Every routed LAN entry with its table and carriers. */
export function routedEntries(cfg: Config, v: CarrierView): RoutedEntry[] {
  const tables = routedTables(cfg);
  const canCarry = (name: string) => {
    const u = v.uplinks.get(name);
    return (
      u !== undefined &&
      u.iface === cfg.uplinks[name]?.interface &&
      u.facts.present &&
      u.facts.v4?.gateway !== undefined &&
      u.familyOk[4] !== false
    );
  };
  return cfg.lan.flatMap((l, lan) =>
    l.routed && l.via
      ? [
          {
            lan,
            interface: l.interface,
            zone: l.zone,
            prefixes: l.routed,
            via: l.via,
            fallback: l.fallback ?? DEFAULT_ROUTED_FALLBACK,
            table: tables.get(lan)!,
            carriers: v.ranked.filter((n) => l.via!.includes(n) && canCarry(n)),
          },
        ]
      : [],
  );
}

/** A routed entry whose carrier changed since the last judgement (undefined: on its fallback). */
export interface RoutedMove {
  entry: RoutedEntry;
  carrier?: string;
  prev?: string;
  message: string;
}

/**
 * What moved since `last` (lan index → carrier; missing: not seen yet); `last` is updated.
 * Entries that are not `ready` (a via uplink still being judged) are skipped, not forgotten:
 * a start or a recovering link would otherwise report a fallback that is only a first look.
 */
export function routedMoves(
  entries: RoutedEntry[],
  last: Map<number, string | undefined>,
  ready: (e: RoutedEntry) => boolean = () => true,
): RoutedMove[] {
  const out: RoutedMove[] = [];
  for (const e of entries) {
    if (!ready(e)) continue;
    const carrier = e.carriers[0];
    const seen = last.has(e.lan);
    const prev = last.get(e.lan);
    last.set(e.lan, carrier);
    if (seen && prev === carrier) continue;
    out.push({ entry: e, carrier, prev, message: moveMessage(e, carrier, prev, seen) });
  }
  for (const lan of [...last.keys()]) if (!entries.some((e) => e.lan === lan)) last.delete(lan);
  return out;
}

function moveMessage(e: RoutedEntry, carrier: string | undefined, prev: string | undefined, seen: boolean): string {
  const what = `${e.prefixes.join(', ')} (${e.interface})`;
  if (carrier !== undefined)
    return prev !== undefined
      ? `${what}: ${prev} → ${carrier}`
      : `${what}: ${seen ? 'back on' : 'carried by'} ${carrier}`;
  const then =
    e.fallback === 'masquerade'
      ? 'outbound is masqueraded through the selected uplink, inbound to the public addresses is lost'
      : 'outbound is dropped, inbound to the public addresses is lost';
  return `${what}: no via uplink is usable (${e.via.join(', ')}); fallback ${e.fallback}: ${then}`;
}
