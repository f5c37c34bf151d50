/**
 * What changed between two observations, as named facts (like tailscale's
 * ChangeDelta), so logs say why we looked again.
 */

import { isDeepStrictEqual } from 'node:util';
import type { RuleInfo } from '../model/kernel.js';
import { linkName, type WorldState } from './state.js';

export interface ChangeDelta {
  linksAdded: string[];
  linksRemoved: string[];
  carrierUp: string[];
  carrierDown: string[];
  adminUp: string[];
  adminDown: string[];
  addrsAdded: string[];
  addrsRemoved: string[];
  routesAdded: string[];
  routesRemoved: string[];
  rulesAdded: string[];
  rulesRemoved: string[];
  defaultRoutesChanged: boolean;
  foreignChanged: boolean;
}

const describeRoute = (
  w: WorldState,
  r: { dst: string; dstLen: number; table: number; gateway?: string; oif?: number; metric: number; type: string },
) =>
  `${r.type === 'unicast' ? '' : `${r.type} `}${r.dstLen === 0 ? 'default' : `${r.dst}/${r.dstLen}`}` +
  `${r.gateway ? ` via ${r.gateway}` : ''}${r.oif ? ` dev ${linkName(w, r.oif)}` : ''} table ${r.table} metric ${r.metric}`;

function diffKeys<V>(
  a: ReadonlyMap<string | number, V>,
  b: ReadonlyMap<string | number, V>,
): { added: V[]; removed: V[] } {
  const added: V[] = [];
  const removed: V[] = [];
  for (const [k, v] of b) if (!a.has(k)) added.push(v);
  for (const [k, v] of a) if (!b.has(k)) removed.push(v);
  return { added, removed };
}

export function computeDelta(prev: WorldState, next: WorldState): ChangeDelta {
  const links = diffKeys(prev.links, next.links);
  const d: ChangeDelta = {
    linksAdded: links.added.map((l) => l.name),
    linksRemoved: links.removed.map((l) => l.name),
    carrierUp: [],
    carrierDown: [],
    adminUp: [],
    adminDown: [],
    addrsAdded: [],
    addrsRemoved: [],
    routesAdded: [],
    routesRemoved: [],
    rulesAdded: [],
    rulesRemoved: [],
    defaultRoutesChanged: false,
    foreignChanged: !isDeepStrictEqual(prev.foreign, next.foreign),
  };
  for (const [i, l] of next.links) {
    const p = prev.links.get(i);
    if (!p) continue;
    if (p.carrier !== l.carrier) (l.carrier ? d.carrierUp : d.carrierDown).push(l.name);
    if (p.up !== l.up) (l.up ? d.adminUp : d.adminDown).push(l.name);
  }
  const addrs = diffKeys(prev.addrs, next.addrs);
  d.addrsAdded = addrs.added.map((a) => `${a.address}/${a.prefixlen} dev ${linkName(next, a.index)}`);
  d.addrsRemoved = addrs.removed.map((a) => `${a.address}/${a.prefixlen} dev ${linkName(prev, a.index)}`);
  const routes = diffKeys(prev.routes, next.routes);
  for (const [k, r] of next.routes) {
    const p = prev.routes.get(k);
    // Same key, other gateway/device/linkdown: a replaced route counts as removed + added.
    if (p && (p.gateway !== r.gateway || p.oif !== r.oif || p.linkdown !== r.linkdown || p.protocol !== r.protocol)) {
      routes.removed.push(p);
      routes.added.push(r);
    }
  }
  d.routesAdded = routes.added.map((r) => describeRoute(next, r));
  d.routesRemoved = routes.removed.map((r) => describeRoute(prev, r));
  const rules = diffKeys(prev.rules, next.rules);
  const describeRule = (r: RuleInfo) =>
    `${r.priority}: from ${r.src ? `${r.src}/${r.srcLen}` : 'all'} lookup ${r.table}${r.suppressPrefixlen >= 0 ? ` suppress_prefixlength ${r.suppressPrefixlen}` : ''}`;
  d.rulesAdded = rules.added.map(describeRule);
  d.rulesRemoved = rules.removed.map(describeRule);
  d.defaultRoutesChanged = [...routes.added, ...routes.removed].some((r) => r.dstLen === 0);
  return d;
}

export function isEmptyDelta(d: ChangeDelta): boolean {
  return Object.values(d).every((v) => (Array.isArray(v) ? v.length === 0 : v === false));
}

/** One readable line: "carrier down: wan1; routes removed: default via … table 254 metric 0". */
/** The list fields of a delta, in the order a summary names them. */
const LABELS: [Exclude<keyof ChangeDelta, 'defaultRoutesChanged' | 'foreignChanged'>, string][] = [
  ['linksAdded', 'links added'],
  ['linksRemoved', 'links removed'],
  ['carrierUp', 'carrier up'],
  ['carrierDown', 'carrier down'],
  ['adminUp', 'admin up'],
  ['adminDown', 'admin down'],
  ['addrsAdded', 'addresses added'],
  ['addrsRemoved', 'addresses removed'],
  ['routesAdded', 'routes added'],
  ['routesRemoved', 'routes removed'],
  ['rulesAdded', 'rules added'],
  ['rulesRemoved', 'rules removed'],
];

export function describeDelta(d: ChangeDelta): string {
  const parts = LABELS.filter(([k]) => d[k].length).map(([k, label]) => `${label}: ${d[k].join(', ')}`);
  if (d.foreignChanged) parts.push('foreign route counts changed');
  return parts.join('; ') || 'no change';
}
