/** The observed world: what the kernel holds, as plain immutable-by-convention data. */
import type { AddrInfo, ForeignCounts, LinkInfo, RouteInfo, RuleInfo } from '../model/kernel.js';

export interface WorldState {
  links: ReadonlyMap<number, LinkInfo>;
  /** Keyed by addrKey(). */
  addrs: ReadonlyMap<string, AddrInfo>;
  /** Only the routes we store (ours, our tables, main-table defaults), keyed by routeKey(). */
  routes: ReadonlyMap<string, RouteInfo>;
  /** Rules in our priority range or with our protocol, keyed by ruleKey(). */
  rules: ReadonlyMap<string, RuleInfo>;
  foreign: ForeignCounts;
}

export const emptyWorld = (): WorldState => ({
  links: new Map(),
  addrs: new Map(),
  routes: new Map(),
  rules: new Map(),
  foreign: { ipv4: {}, ipv6: {} },
});

export function linkName(w: WorldState, index: number | undefined): string {
  if (index === undefined) return '?';
  return w.links.get(index)?.name ?? `if${index}`;
}

export function defaultRoutes(w: WorldState): RouteInfo[] {
  return [...w.routes.values()].filter((r) => r.dstLen === 0);
}

export function foreignTotal(c: ForeignCounts): number {
  let n = 0;
  for (const fam of [c.ipv4, c.ipv6]) for (const v of Object.values(fam)) n += v;
  return n;
}
