import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planKernel } from '../../src/routing/plan.js';
import { desiredKernel, LAST_RESORT_METRIC } from '../../src/routing/desired.js';
import { displayCommand, type RouteSpec, type RuleSpec } from '../../src/model/ops.js';
import { routeKey, ruleKey, type RouteInfo, type RuleInfo } from '../../src/model/kernel.js';
import type { WorldState } from '../../src/world/state.js';
import { KERNEL_DEFAULTS } from '../../src/config/schema-control.js';

const OURS = 201;
const unreach = (table: number, family: 4 | 6 = 4): RouteSpec => ({
  family,
  table,
  protocol: OURS,
  type: 'unreachable',
  dst: family === 4 ? '0.0.0.0' : '::',
  dstLen: 0,
  metric: LAST_RESORT_METRIC,
});
const observed = (s: RouteSpec, o: Partial<RouteInfo> = {}): RouteInfo => ({ ...s, linkdown: false, ...o });
const rule = (r: Partial<RuleInfo>): RuleInfo => ({
  family: 4,
  priority: 7300,
  action: 'lookup',
  table: 254,
  protocol: OURS,
  srcLen: 0,
  suppressPrefixlen: -1,
  ...r,
});
const world = (routes: RouteInfo[], rules: RuleInfo[] = []): WorldState => ({
  links: new Map([
    [1, { index: 1, name: 'lo', up: true, carrier: true, operstate: 'unknown', mtu: 65536 }],
    [2, { index: 2, name: 'wan1', up: true, carrier: true, operstate: 'up', mtu: 1500 }],
  ]),
  addrs: new Map(),
  routes: new Map(routes.map((r) => [routeKey(r), r])),
  rules: new Map(rules.map((r) => [ruleKey(r), r])),
  foreign: { ipv4: {}, ipv6: {} },
});
const gwRoute = (table: number, metric: number, gateway: string): RouteSpec => ({
  family: 4,
  table,
  protocol: OURS,
  type: 'unicast',
  dst: '0.0.0.0',
  dstLen: 0,
  metric,
  gateway,
  dev: 'wan1',
});

test('planKernel: table-driven', () => {
  const cases: {
    name: string;
    routes?: RouteSpec[];
    rules?: RuleSpec[];
    have: RouteInfo[];
    haveRules?: RuleInfo[];
    judged: boolean;
    ops: string[];
    routesReady?: number;
    deferred?: number;
    conflicts?: number;
  }[] = [
    {
      name: 'empty kernel → add',
      routes: [unreach(7301)],
      have: [],
      judged: false,
      ops: ['ip -4 route add unreachable 0.0.0.0/0 table 7301 proto 201 metric 4294967295'],
    },
    {
      name: 'already there → nothing (idempotent)',
      routes: [unreach(7301)],
      have: [observed(unreach(7301))],
      judged: true,
      ops: [],
    },
    {
      name: 'IPv6 unreachable reported on lo still matches',
      routes: [unreach(7301, 6)],
      have: [observed(unreach(7301, 6), { oif: 1 })],
      judged: true,
      ops: [],
    },
    {
      name: 'ours, unwanted, before judged → deferred',
      have: [observed(unreach(7302))],
      judged: false,
      ops: [],
      deferred: 1,
    },
    {
      name: 'ours, unwanted, judged → deleted',
      have: [observed(unreach(7302))],
      judged: true,
      ops: ['ip -4 route del unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295'],
    },
    {
      name: 'foreign route is never deleted',
      have: [observed({ ...unreach(7302), protocol: 4 })],
      judged: true,
      ops: [],
    },
    {
      name: 'foreign route with our key is not replaced',
      routes: [unreach(7301)],
      have: [observed({ ...unreach(7301), protocol: 4 })],
      judged: true,
      ops: [],
      conflicts: 1,
    },
    {
      name: 'our route with another gateway → replace, atomically',
      judged: true,
      routes: [gwRoute(7300, 100, '198.51.100.1')],
      have: [observed(gwRoute(7300, 100, '203.0.113.1'), { oif: 2 })],
      ops: ['ip -4 route replace 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 100'],
    },
    {
      name: 'make before break: new routes and rules before deletions',
      judged: true,
      routes: [gwRoute(7300, 100, '198.51.100.1')],
      rules: [{ family: 4, priority: 7310, table: 7301, protocol: OURS, src: '198.51.100.2' }],
      have: [observed(gwRoute(7300, 101, '198.51.100.1'), { oif: 2 })],
      haveRules: [rule({ priority: 7310, table: 7301, src: '198.51.100.6', srcLen: 32 })],
      ops: [
        'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 100',
        'ip -4 rule add priority 7310 from 198.51.100.2/32 lookup 7301 protocol 201',
        'ip -4 route del 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 101',
        'ip -4 rule del priority 7310 from 198.51.100.6/32 lookup 7301 protocol 201',
      ],
      routesReady: 1,
    },
    {
      name: 'a stale sibling of ours under the same replace key (other gateway) → deleted, the wanted one kept',
      judged: true,
      routes: [gwRoute(7301, 10, '198.51.100.1')],
      have: [
        observed(gwRoute(7301, 10, '198.51.100.1'), { oif: 2 }),
        observed(gwRoute(7301, 10, '198.51.100.9'), { oif: 2 }),
      ],
      ops: ['ip -4 route del 0.0.0.0/0 via 198.51.100.9 dev wan1 table 7301 proto 201 metric 10'],
    },
    {
      name: 'two stale siblings, neither wanted → one replace, the other deleted',
      judged: true,
      routes: [gwRoute(7301, 10, '198.51.100.1')],
      have: [
        observed(gwRoute(7301, 10, '198.51.100.8'), { oif: 2 }),
        observed(gwRoute(7301, 10, '198.51.100.9'), { oif: 2 }),
      ],
      ops: [
        'ip -4 route replace 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10',
        'ip -4 route del 0.0.0.0/0 via 198.51.100.9 dev wan1 table 7301 proto 201 metric 10',
      ],
      routesReady: 1,
    },
    {
      name: 'a foreign sibling beside ours is left alone: ours is deleted and added, not replaced (a replace could hit the foreign one)',
      judged: true,
      routes: [gwRoute(7301, 10, '198.51.100.1')],
      have: [
        observed({ ...gwRoute(7301, 10, '198.51.100.7'), protocol: 4 }, { oif: 2 }),
        observed(gwRoute(7301, 10, '198.51.100.9'), { oif: 2 }),
      ],
      ops: [
        'ip -4 route del 0.0.0.0/0 via 198.51.100.9 dev wan1 table 7301 proto 201 metric 10',
        'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10',
      ],
      routesReady: 2,
    },
    {
      name: 'a foreign rule in our range is left alone',
      judged: true,
      have: [],
      haveRules: [rule({ priority: 7350, protocol: 4 })],
      ops: [],
    },
    {
      name: 'rule already there → nothing',
      judged: true,
      have: [],
      rules: [{ family: 4, priority: 7300, table: 254, protocol: OURS, suppressPrefixlen: 0 }],
      haveRules: [rule({ suppressPrefixlen: 0 })],
      ops: [],
    },
  ];
  for (const c of cases) {
    const p = planKernel({
      routes: c.routes ?? [],
      rules: c.rules ?? [],
      world: world(c.have, c.haveRules),
      protocol: OURS,
      judged: c.judged,
    });
    assert.deepEqual(p.ops.map(displayCommand), c.ops, c.name);
    // Unless a case says otherwise, its ops are all additions and replacements (or none).
    assert.equal(
      p.routesReady,
      c.routesReady ?? (c.ops.every((o) => / (add|replace) /.test(o)) ? c.ops.length : 0),
      c.name,
    );
    assert.equal(p.deferred.length, c.deferred ?? 0, c.name);
    assert.equal(p.conflicts.length, c.conflicts ?? 0, c.name);
  }
});

test('desiredKernel: per-uplink tables, from-rules, selection order by metric', () => {
  const k = { ...KERNEL_DEFAULTS };
  const up = (name: string, index: number, address: string, gateway?: string) => ({
    name,
    index,
    table: 7301 + index,
    dev: name,
    facts: { present: true, carrier: true, index: index + 2, v4: { address, gateway } },
  });
  const d = desiredKernel(
    [
      up('wan1', 0, '198.51.100.2', '198.51.100.1'),
      up('wan2', 1, '203.0.113.2', '203.0.113.1'),
      { name: 'ppp', index: 2, table: 7303, dev: 'ppp0', facts: { present: false, carrier: false } },
    ],
    ['wan2', 'wan1'],
    7300,
    k,
  );
  const lines = [
    ...d.routes.map((route) => displayCommand({ op: 'add', route })),
    ...d.rules.map((rule) => displayCommand({ op: 'add', rule })),
  ];
  assert.deepEqual(lines, [
    'ip -4 route add unreachable 0.0.0.0/0 table 7301 proto 201 metric 4294967295',
    'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10',
    'ip -6 route add unreachable ::/0 table 7301 proto 201 metric 4294967295',
    'ip -4 route add unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295',
    'ip -4 route add 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7302 proto 201 metric 10',
    'ip -6 route add unreachable ::/0 table 7302 proto 201 metric 4294967295',
    'ip -4 route add unreachable 0.0.0.0/0 table 7303 proto 201 metric 4294967295',
    'ip -6 route add unreachable ::/0 table 7303 proto 201 metric 4294967295',
    'ip -4 route add 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 100',
    'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 101',
    'ip -4 rule add priority 7310 from 198.51.100.2/32 lookup 7301 protocol 201',
    'ip -4 rule add priority 7350 fwmark 0x10000/0xff0000 lookup 7301 protocol 201',
    'ip -4 rule add priority 7311 from 203.0.113.2/32 lookup 7302 protocol 201',
    'ip -4 rule add priority 7351 fwmark 0x20000/0xff0000 lookup 7302 protocol 201',
    'ip -4 rule add priority 7300 lookup 254 suppress_prefixlength 0 protocol 201',
    'ip -4 rule add priority 7390 lookup 7300 protocol 201',
    'ip -6 rule add priority 7300 lookup 254 suppress_prefixlength 0 protocol 201',
    'ip -6 rule add priority 7390 lookup 7300 protocol 201',
  ]);
});

test('planKernel: a static uplink address is added when missing, before routes; never removed', () => {
  const addr = { family: 4 as const, address: '198.51.100.2', prefixlen: 30, dev: 'wan1' };
  const missing = planKernel({
    routes: [gwRoute(7301, 10, '198.51.100.1')],
    rules: [],
    addrs: [addr],
    world: world([]),
    protocol: OURS,
    judged: true,
  });
  assert.deepEqual(missing.ops.map(displayCommand), [
    'ip -4 address add 198.51.100.2/30 dev wan1',
    'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10',
  ]);
  assert.equal(missing.routesReady, 2, 'the address and the route are what a replay needs');
  const w = world([]);
  (w.addrs as Map<string, unknown>).set('2|198.51.100.2/30', {
    family: 4,
    index: 2,
    address: '198.51.100.2',
    prefixlen: 30,
    scope: 0,
  });
  assert.deepEqual(
    planKernel({ routes: [], rules: [], addrs: [addr], world: w, protocol: OURS, judged: true }).ops,
    [],
  );
  assert.deepEqual(
    planKernel({ routes: [], rules: [], addrs: [], world: w, protocol: OURS, judged: true }).ops,
    [],
    'an address no longer configured stays',
  );
});
