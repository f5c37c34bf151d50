/**
 * Desired routes: a pure function of config and the observed world.
 * Each uplink owns a routing table holding `unreachable default metric
 * 4294967295`, so a lookup in it never falls through to another uplink
 * (PLATFORM-NOTES.md, per-uplink tables). Selection and per-uplink default
 * routes build on this.
 */
import type { RouteSpec } from '../system/ops.js';
import type { KernelRanges, UplinkTables } from './tables.js';

export const LAST_RESORT_METRIC = 4294967295;

export function desiredRoutes(tables: UplinkTables, k: KernelRanges): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const table of tables.values()) {
    for (const family of [4, 6] as const) {
      out.push({
        family, table, protocol: k.route_protocol, type: 'unreachable',
        dst: family === 4 ? '0.0.0.0' : '::', dstLen: 0, metric: LAST_RESORT_METRIC,
      });
    }
  }
  return out;
}
