/**
 * Pure route planner: desired routes vs the routes we observe, as ordered ops.
 * Only routes carrying our protocol number are ever deleted or replaced: a
 * foreign route with the same key is never touched (PLATFORM-NOTES.md: `ip route
 * replace` silently deletes foreign routes). Deletions wait until the first probe
 * round has been judged, so a restarted daemon adopts instead of tearing down.
 */
import type { KernelOp, RouteSpec } from '../system/ops.js';
import { routeKey, type RouteInfo } from '../system/types.js';
import { linkName, type WorldState } from '../world/state.js';

export interface PlanInput {
  desired: RouteSpec[];
  world: WorldState;
  protocol: number;
  /** False until one full probe round has been judged after start. */
  judged: boolean;
}

export interface Plan {
  ops: KernelOp[];
  /** Our routes that are no longer wanted but kept until the first round is judged. */
  deferred: RouteSpec[];
  /** Desired routes blocked by a foreign route with the same key. */
  conflicts: string[];
}

function toSpec(r: RouteInfo, w: WorldState): RouteSpec {
  const s: RouteSpec = {
    family: r.family, table: r.table, protocol: r.protocol, type: r.type as RouteSpec['type'],
    dst: r.dst, dstLen: r.dstLen, metric: r.metric,
  };
  if (r.gateway) s.gateway = r.gateway;
  if (r.oif !== undefined && r.type === 'unicast') s.dev = linkName(w, r.oif);
  return s;
}

function sameRoute(want: RouteSpec, have: RouteInfo, w: WorldState): boolean {
  return (want.gateway ?? '') === (have.gateway ?? '') &&
    (want.dev ?? '') === (have.oif !== undefined && have.type === 'unicast' ? linkName(w, have.oif) : '') &&
    want.protocol === have.protocol;
}

export function planRoutes(input: PlanInput): Plan {
  const { world, protocol } = input;
  const plan: Plan = { ops: [], deferred: [], conflicts: [] };
  const wanted = new Map(input.desired.map((d) => [routeKey(d), d]));
  for (const [key, have] of world.routes) {
    if (have.protocol !== protocol) continue;
    const want = wanted.get(key);
    if (want && sameRoute(want, have, world)) continue;
    if (!want && !input.judged) {
      plan.deferred.push(toSpec(have, world));
      continue;
    }
    plan.ops.push({ op: 'del', route: toSpec(have, world) });
  }
  for (const [key, want] of wanted) {
    const have = world.routes.get(key);
    if (have && have.protocol !== protocol) {
      plan.conflicts.push(`${key} is held by a foreign route (proto ${have.protocol}); left alone`);
      continue;
    }
    if (!have || !sameRoute(want, have, world)) plan.ops.push({ op: 'add', route: want });
  }
  return plan;
}
