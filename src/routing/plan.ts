/**
 * Pure kernel planner: desired routes and rules vs what we observe, as ordered
 * ops. Only objects carrying our protocol number are ever deleted or replaced: a
 * foreign route with the same key is never touched (docs/platform-notes.md: `ip route
 * replace` silently deletes foreign routes). Make before break: additions and
 * replacements come before deletions. Deletions wait until the first probe round
 * has been judged, so a restarted daemon adopts instead of tearing down.
 */
import type { AddrSpec, KernelOp, RouteSpec, RuleSpec } from '../model/ops.js';
import { replaceKey, routeKey, ruleKey, type RouteInfo } from '../model/kernel.js';
import { linkName, type WorldState } from '../world/state.js';

export interface PlanInput {
  routes: RouteSpec[];
  rules: RuleSpec[];
  addrs?: AddrSpec[];
  /** Addresses of ours to delete where the world shows them (earlier DHCP leases). */
  addrDels?: AddrSpec[];
  world: WorldState;
  protocol: number;
  /** False until one full probe round has been judged after start. */
  judged: boolean;
}

export interface Plan {
  ops: KernelOp[];
  /**
   * How many of `ops` (from the start) add addresses and routes. Once they are applied the
   * new routes work: a dialed link's held packets can go before its rules and the deletions.
   */
  routesReady: number;
  /** Our objects that are no longer wanted but kept until the first round is judged. */
  deferred: string[];
  /** Desired objects blocked by a foreign one with the same key. */
  conflicts: string[];
}

function toSpec(r: RouteInfo, w: WorldState): RouteSpec {
  const s: RouteSpec = {
    family: r.family,
    table: r.table,
    protocol: r.protocol,
    type: r.type as RouteSpec['type'],
    dst: r.dst,
    dstLen: r.dstLen,
    metric: r.metric,
  };
  if (r.gateway) s.gateway = r.gateway;
  if (r.oif !== undefined && r.type === 'unicast') s.dev = linkName(w, r.oif);
  return s;
}

function sameRoute(want: RouteSpec, have: RouteInfo, w: WorldState): boolean {
  return (
    (want.gateway ?? '') === (have.gateway ?? '') &&
    (want.dev ?? '') === (have.oif !== undefined && have.type === 'unicast' ? linkName(w, have.oif) : '') &&
    want.protocol === have.protocol
  );
}

const ruleSpecKey = (r: RuleSpec) =>
  ruleKey({
    ...r,
    action: 'lookup',
    srcLen: r.src ? (r.srcLen ?? (r.family === 4 ? 32 : 128)) : 0,
    fwmask: r.fwmark !== undefined ? (r.fwmask ?? 0xffffffff) : undefined,
  });

/** Observed routes by replace key: siblings that differ in device or gateway share one. */
function byReplaceKey(w: WorldState): Map<string, RouteInfo[]> {
  const groups = new Map<string, RouteInfo[]>();
  for (const r of w.routes.values()) {
    const k = replaceKey(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/**
 * Ops are paired by the kernel's replace key, so moving a route to another gateway is one
 * `replace`; our other routes under that key (stale siblings) are deleted.
 */
function planRoutes(input: PlanInput, plan: Plan, dels: KernelOp[]): void {
  const { world, protocol } = input;
  const wanted = new Map(input.routes.map((d) => [replaceKey(d), d]));
  const groups = byReplaceKey(world);
  for (const [key, members] of groups) {
    const want = wanted.get(key);
    const ours = members.filter((r) => r.protocol === protocol);
    const keep = want ? (ours.find((r) => sameRoute(want, r, world)) ?? ours[0]) : undefined;
    for (const r of ours) {
      if (r === keep) continue;
      if (input.judged) dels.push({ op: 'del', route: toSpec(r, world) });
      else plan.deferred.push(routeKey(r));
    }
  }
  for (const [key, want] of wanted) {
    const members = groups.get(key) ?? [];
    const ours = members.filter((r) => r.protocol === protocol);
    if (!members.length) plan.ops.push({ op: 'add', route: want });
    else if (!ours.length)
      plan.conflicts.push(`route ${key} is held by a foreign route (proto ${members[0]!.protocol}); left alone`);
    else if (ours.some((r) => sameRoute(want, r, world))) continue;
    // A replace takes the kernel's first route under the key, which may be the foreign one:
    // beside a foreign sibling, ours is deleted (by its protocol) and added anew instead.
    else if (ours.length < members.length)
      plan.ops.push({ op: 'del', route: toSpec(ours[0]!, world) }, { op: 'add', route: want });
    else plan.ops.push({ op: 'replace', route: want });
  }
}

function planRules(input: PlanInput, adds: KernelOp[], dels: KernelOp[], plan: Plan): void {
  const wanted = new Map(input.rules.map((r) => [ruleSpecKey(r), r]));
  for (const [key, have] of input.world.rules) {
    if (have.protocol !== input.protocol || wanted.has(key)) continue;
    const spec: RuleSpec = { family: have.family, priority: have.priority, table: have.table, protocol: have.protocol };
    if (have.src) Object.assign(spec, { src: have.src, srcLen: have.srcLen });
    if (have.suppressPrefixlen >= 0) spec.suppressPrefixlen = have.suppressPrefixlen;
    if (have.fwmark) Object.assign(spec, { fwmark: have.fwmark, fwmask: have.fwmask });
    if (input.judged) dels.push({ op: 'del', rule: spec });
    else plan.deferred.push(`rule ${key}`);
  }
  for (const [key, want] of wanted) if (!input.world.rules.has(key)) adds.push({ op: 'add', rule: want });
}

export function planKernel(input: PlanInput): Plan {
  const plan: Plan = { ops: [], routesReady: 0, deferred: [], conflicts: [] };
  const ruleAdds: KernelOp[] = [];
  const ruleDels: KernelOp[] = [];
  const routeDels: KernelOp[] = [];
  planRules(input, ruleAdds, ruleDels, plan);
  planRoutes(input, plan, routeDels);
  const have = new Set(
    [...input.world.addrs.values()].map((a) => `${linkName(input.world, a.index)}|${a.address}/${a.prefixlen}`),
  );
  const addrAdds: KernelOp[] = (input.addrs ?? [])
    .filter((a) => !have.has(`${a.dev}|${a.address}/${a.prefixlen}`))
    .map((addr) => ({ op: 'add', addr }));
  const addrDels: KernelOp[] = (input.addrDels ?? [])
    .filter((a) => have.has(`${a.dev}|${a.address}/${a.prefixlen}`))
    .map((addr) => ({ op: 'del', addr }));
  // Addresses first (routes via the uplink need them), routes next (a new rule must find its table filled), then rules; deletions last.
  plan.routesReady = addrAdds.length + plan.ops.length;
  plan.ops = [...addrAdds, ...plan.ops, ...ruleAdds, ...routeDels, ...ruleDels, ...addrDels];
  return plan;
}
