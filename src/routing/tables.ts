/**
 * Routing-table numbers: the selection table is `table_base`, uplinks get
 * `table_base + 1 …` in config order (adding an uplink at the end moves no
 * other uplink's table), unless an uplink names its own `table`.
 */
import type { Config } from '../config/schema.js';

export type KernelRanges = Config['control']['kernel'];
export type UplinkTables = ReadonlyMap<string, number>;

export function selectionTable(k: KernelRanges): number {
  return k.table_base;
}

export function uplinkTables(cfg: Pick<Config, 'uplinks' | 'control'>): UplinkTables {
  const k = cfg.control.kernel;
  const taken = new Set<number>([selectionTable(k)]);
  for (const u of Object.values(cfg.uplinks)) if (u.table !== undefined) taken.add(u.table);
  const out = new Map<string, number>();
  let next = k.table_base + 1;
  for (const [name, u] of Object.entries(cfg.uplinks)) {
    if (u.table !== undefined) {
      out.set(name, u.table);
      continue;
    }
    while (taken.has(next)) next++;
    out.set(name, next);
    taken.add(next);
  }
  return out;
}

/**
 * Routed LAN entries' tables (lan index → table): from the top of our range down, skipping the
 * uplinks' tables, so adding an uplink moves no routed table and adding a routed entry moves
 * no uplink's table.
 */
export function routedTables(cfg: Pick<Config, 'uplinks' | 'control' | 'lan'>): ReadonlyMap<number, number> {
  const k = cfg.control.kernel;
  const taken = new Set<number>([selectionTable(k), ...uplinkTables(cfg).values()]);
  const out = new Map<number, number>();
  let next = k.table_base + k.table_count - 1;
  cfg.lan.forEach((l, i) => {
    if (!l.routed) return;
    while (taken.has(next)) next--;
    out.set(i, next);
    taken.add(next);
  });
  return out;
}
