import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRoutes } from '../../src/routing/plan.js';
import { desiredRoutes, LAST_RESORT_METRIC } from '../../src/routing/desired.js';
import { routeCommand, type RouteSpec } from '../../src/system/ops.js';
import { routeKey, type RouteInfo } from '../../src/system/types.js';
import type { WorldState } from '../../src/world/state.js';

const OURS = 201;
const unreach = (table: number, family: 4 | 6 = 4): RouteSpec =>
  ({ family, table, protocol: OURS, type: 'unreachable', dst: family === 4 ? '0.0.0.0' : '::', dstLen: 0, metric: LAST_RESORT_METRIC });
const observed = (s: RouteSpec, o: Partial<RouteInfo> = {}): RouteInfo => ({ ...s, linkdown: false, ...o });
const world = (routes: RouteInfo[]): WorldState => ({
  links: new Map([[1, { index: 1, name: 'lo', up: true, carrier: true, operstate: 'unknown', mtu: 65536 }]]),
  addrs: new Map(), routes: new Map(routes.map((r) => [routeKey(r), r])), foreign: { ipv4: {}, ipv6: {} },
});
const cmds = (p: ReturnType<typeof planRoutes>) => p.ops.map((o) => routeCommand(o));

test('planRoutes: table-driven', () => {
  const cases: { name: string; desired: RouteSpec[]; have: RouteInfo[]; judged: boolean; ops: string[]; deferred?: number; conflicts?: number }[] = [
    { name: 'empty kernel → add', desired: [unreach(7301)], have: [], judged: false,
      ops: ['route add unreachable 0.0.0.0/0 table 7301 proto 201 metric 4294967295'] },
    { name: 'already there → nothing (idempotent)', desired: [unreach(7301)], have: [observed(unreach(7301))], judged: true, ops: [] },
    { name: 'IPv6 unreachable reported on lo still matches', desired: [unreach(7301, 6)], have: [observed(unreach(7301, 6), { oif: 1 })], judged: true, ops: [] },
    { name: 'ours, unwanted, before judged → deferred', desired: [], have: [observed(unreach(7302))], judged: false, ops: [], deferred: 1 },
    { name: 'ours, unwanted, judged → deleted', desired: [], have: [observed(unreach(7302))], judged: true,
      ops: ['route del unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295'] },
    { name: 'foreign route is never deleted', desired: [], have: [observed({ ...unreach(7302), protocol: 4 })], judged: true, ops: [] },
    { name: 'foreign route with our key is not replaced', desired: [unreach(7301)], have: [observed({ ...unreach(7301), protocol: 4 })], judged: true, ops: [], conflicts: 1 },
    { name: 'our route with another gateway → del + add', judged: true,
      desired: [{ family: 4, table: 7300, protocol: OURS, type: 'unicast', dst: '0.0.0.0', dstLen: 0, metric: 10, gateway: '198.51.100.1', dev: 'lo' }],
      have: [observed({ family: 4, table: 7300, protocol: OURS, type: 'unicast', dst: '0.0.0.0', dstLen: 0, metric: 10, gateway: '198.51.100.9' }, { oif: 1 })],
      ops: ['route del 0.0.0.0/0 via 198.51.100.9 dev lo table 7300 proto 201 metric 10', 'route add 0.0.0.0/0 via 198.51.100.1 dev lo table 7300 proto 201 metric 10'] },
  ];
  for (const c of cases) {
    const p = planRoutes({ desired: c.desired, world: world(c.have), protocol: OURS, judged: c.judged });
    assert.deepEqual(cmds(p), c.ops, c.name);
    assert.equal(p.deferred.length, c.deferred ?? 0, c.name);
    assert.equal(p.conflicts.length, c.conflicts ?? 0, c.name);
  }
});

test('desiredRoutes: one unreachable default per family per uplink table', () => {
  const d = desiredRoutes(new Map([['wan1', 7301], ['wan2', 7302]]), { route_protocol: OURS } as never);
  assert.deepEqual(d.map((r) => `${r.family}:${r.table}:${r.type}`), ['4:7301:unreachable', '6:7301:unreachable', '4:7302:unreachable', '6:7302:unreachable']);
});
