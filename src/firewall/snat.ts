/**
 * Flows pinned to a fixed SNAT address stay pinned after traffic moves to another uplink:
 * conntrack keeps the translation, the packets leave the new uplink with the old address,
 * and an ISP that filters foreign sources (BCP 38) drops them for as long as the flow lives.
 * Masquerade has no such problem (the kernel drops the entry when the egress changes).
 */
import type { Config } from '../config/schema.js';

/** The SNAT addresses of every uplink other than the selected one (pure). */
export function unselectedSnat(cfg: Config, selected: string | undefined): string[] {
  return [
    ...new Set(Object.entries(cfg.uplinks).flatMap(([name, u]) => (u.snat && name !== selected ? [u.snat] : []))),
  ].sort();
}
