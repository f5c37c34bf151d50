/**
 * The demand pieces of `table inet uplinkd` (pure), rendered with the rest of the firewall:
 *
 *   raw_pre / raw_out  packets headed into a proxy are not tracked, so the replayed copy
 *                      gets a fresh conntrack entry and NAT on the uplink (docs/platform-notes.md)
 *   demand_acct[_out]  diald's connection set in the kernel: traffic through a demand
 *                      uplink runs the rules (first match wins); accept/keepup matches put
 *                      the flow into set demand_<uplink> with the rule's timeout. The idle
 *                      check reads the set: empty means idle. IPv4 only, so IPv6 router
 *                      solicitations and MLD never count; the daemon's own packets (probes)
 *                      carry our fwmark and are skipped.
 */
import type { Json, Stmt } from '../model/nft.js';
import { and, eq, meta, payload } from '../model/nft.js';
import { ruleMatches } from './nft-match.js';
import type { DemandRule } from '../config/demand-rules.js';
import { keeps } from './rules.js';

export interface DemandNftInput {
  /** Demand uplinks: their name, uplink interface, proxy interface and default timeout (idle). */
  uplinks: { name: string; iface: string; proxy: string; idleMs: number }[];
  rules: DemandRule[];
  /** Our fwmark bits: packets carrying any are the daemon's own and never keep a link up. */
  fwmarkMask: number;
  /**
   * Connection-set elements to carry over (set name → elements): the batch rebuilds the whole
   * table, and an emptied set would make a busy link look idle.
   */
  carry?: Record<string, { key: string; expiresMs?: number }[]>;
}

export const demandSet = (uplink: string): string => `demand_${uplink}`;
const chainOf = (uplink: string, dir: 'in' | 'out') => `demand_${uplink}_${dir}`;
const secs = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

type Rule = { chain: string; c: string; e: Stmt[] };
export interface DemandNft {
  sets: Json[];
  /** Base chains: name → [type, hook, priority]. */
  baseChains: [string, string, number][];
  regularChains: string[];
  rules: Rule[];
}

/** The flow key, LAN side first whichever way the packet goes. */
function key(dir: 'in' | 'out'): Json {
  const s = payload('ip', 'saddr'),
    d = payload('ip', 'daddr');
  return { concat: dir === 'out' ? [s, d, meta('l4proto')] : [d, s, meta('l4proto')] };
}

function ruleStmts(u: DemandNftInput['uplinks'][number], r: DemandRule, dir: 'in' | 'out'): Stmt[][] {
  if (r.direction && r.direction !== dir) return [];
  const timeout = r.timeoutMs ?? u.idleMs;
  const keep = keeps(r.action) && timeout > 0;
  const update: Stmt = {
    set: { op: 'update', elem: { elem: { val: key(dir), timeout: secs(timeout) } }, set: `@${demandSet(u.name)}` },
  };
  return ruleMatches(r).map((alt) => [...alt, ...(keep ? [update] : []), { return: null }]);
}

export function renderDemand(i: DemandNftInput): DemandNft {
  const out: DemandNft = { sets: [], baseChains: [], regularChains: [], rules: [] };
  if (!i.uplinks.length) return out;
  const mask = i.fwmarkMask >>> 0;
  out.baseChains.push(
    ['raw_pre', 'prerouting', -300],
    ['raw_out', 'output', -300],
    ['demand_acct', 'forward', -10],
    ['demand_acct_out', 'output', -10],
  );
  const v4 = eq(meta('nfproto'), 'ipv4');
  for (const u of i.uplinks) {
    // nft 1.0.6 JSON knows no "dynamic" flag; the kernel set gets it from the update rule.
    const elem = (i.carry?.[demandSet(u.name)] ?? []).map((e) => ({
      elem: { val: { concat: e.key.split(' . ') }, timeout: secs(e.expiresMs ?? 1000) },
    }));
    out.sets.push({
      set: {
        name: demandSet(u.name),
        type: ['ipv4_addr', 'ipv4_addr', 'inet_proto'],
        flags: ['timeout'],
        timeout: secs(u.idleMs || 86_400_000),
        ...(elem.length ? { elem } : {}),
      },
    });
    // `fib ... oifname` is a string, not an ifname: a named ifname set cannot be matched, so one rule per proxy.
    out.rules.push({
      chain: 'raw_pre',
      c: `demand ${u.name}: packets routed into proxy ${u.proxy} are not tracked`,
      e: [
        { match: { op: '==', left: { fib: { result: 'oifname', flags: ['daddr'] } }, right: u.proxy } },
        { notrack: null },
      ],
    });
    out.rules.push({
      chain: 'raw_out',
      c: `demand ${u.name}: the gateway's packets into proxy ${u.proxy} are not tracked`,
      e: [eq(meta('oifname'), u.proxy), { notrack: null }],
    });
    for (const dir of ['out', 'in'] as const) {
      const chain = chainOf(u.name, dir);
      out.regularChains.push(chain);
      const ifKey = dir === 'out' ? 'oifname' : 'iifname';
      out.rules.push({
        chain: 'demand_acct',
        c: `demand ${u.name}: forwarded traffic ${dir === 'out' ? 'leaving' : 'arriving'} on ${u.iface}`,
        e: [v4, eq(meta(ifKey), u.iface), { jump: { target: chain } }],
      });
      i.rules.forEach((r, n) => {
        for (const e of ruleStmts(u, r, dir)) out.rules.push({ chain, c: `demand.rules[${n}]: ${r.text}`, e });
      });
    }
    out.rules.push({
      chain: 'demand_acct_out',
      c: `demand ${u.name}: the gateway's own traffic on ${u.iface}, not the daemon's (fwmark)`,
      e: [
        v4,
        eq(meta('oifname'), u.iface),
        eq(and(meta('mark'), mask), 0),
        { jump: { target: chainOf(u.name, 'out') } },
      ],
    });
  }
  return out;
}
