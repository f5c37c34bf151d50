import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDelta, describeDelta, isEmptyDelta } from '../../src/world/delta.js';
import { emptyWorld, type WorldState } from '../../src/world/state.js';
import { World } from '../../src/world/world.js';
import { addrKey, routeKey, type AddrInfo, type LinkInfo, type RouteInfo } from '../../src/model/kernel.js';
import { link } from './fixtures.js';

const addr = (index: number, address: string, prefixlen: number): AddrInfo => ({
  family: 4,
  index,
  address,
  prefixlen,
  scope: 0,
});
const route = (o: Partial<RouteInfo>): RouteInfo => ({
  family: 4,
  table: 254,
  protocol: 3,
  type: 'unicast',
  dst: '0.0.0.0',
  dstLen: 0,
  metric: 0,
  linkdown: false,
  ...o,
});

function world(
  links: LinkInfo[],
  addrs: AddrInfo[] = [],
  routes: RouteInfo[] = [],
  foreign = { ipv4: {}, ipv6: {} },
): WorldState {
  return {
    links: new Map(links.map((l) => [l.index, l])),
    addrs: new Map(addrs.map((a) => [addrKey(a), a])),
    routes: new Map(routes.map((r) => [routeKey(r), r])),
    rules: new Map(),
    foreign,
  };
}

test('computeDelta names each change', () => {
  const base = world(
    [link(1, 'lo'), link(2, 'wan1')],
    [addr(2, '198.51.100.2', 30)],
    [route({ gateway: '198.51.100.1', oif: 2 })],
  );
  const cases: { name: string; next: WorldState; want: string }[] = [
    { name: 'nothing', next: base, want: 'no change' },
    {
      name: 'carrier lost',
      next: world(
        [link(1, 'lo'), link(2, 'wan1', { carrier: false })],
        [...base.addrs.values()],
        [...base.routes.values()],
      ),
      want: 'carrier down: wan1',
    },
    {
      name: 'admin down',
      next: world([link(1, 'lo'), link(2, 'wan1', { up: false })], [...base.addrs.values()], [...base.routes.values()]),
      want: 'admin down: wan1',
    },
    {
      name: 'link added',
      next: world([...base.links.values(), link(3, 'wan2')], [...base.addrs.values()], [...base.routes.values()]),
      want: 'links added: wan2',
    },
    {
      name: 'address removed',
      next: world([...base.links.values()], [], [...base.routes.values()]),
      want: 'addresses removed: 198.51.100.2/30 dev wan1',
    },
    {
      name: 'default route removed',
      next: world([...base.links.values()], [...base.addrs.values()]),
      want: 'routes removed: default via 198.51.100.1 dev wan1 table 254 metric 0',
    },
    {
      name: 'gateway changed',
      next: world([...base.links.values()], [...base.addrs.values()], [route({ gateway: '198.51.100.9', oif: 2 })]),
      want: 'routes added: default via 198.51.100.9 dev wan1 table 254 metric 0; routes removed: default via 198.51.100.1 dev wan1 table 254 metric 0',
    },
    {
      name: 'foreign counts',
      next: world([...base.links.values()], [...base.addrs.values()], [...base.routes.values()], {
        ipv4: { '100': 5 },
        ipv6: {},
      }),
      want: 'foreign route counts changed',
    },
  ];
  for (const c of cases) {
    const d = computeDelta(base, c.next);
    assert.equal(describeDelta(d), c.want, c.name);
    assert.equal(isEmptyDelta(d), c.want === 'no change', c.name);
  }
  const moved = computeDelta(
    base,
    world([...base.links.values()], [...base.addrs.values()], [route({ gateway: '198.51.100.9', oif: 2 })]),
  );
  assert.equal(moved.defaultRoutesChanged, true);
});

test('World applies events, forgets a deleted link\'s addresses and routes, and says "look again"', () => {
  const reasons: string[] = [];
  const w = new World((r) => reasons.push(r));
  w.reset(
    {
      links: [link(1, 'lo'), link(2, 'wan1')],
      addrs: [addr(2, '198.51.100.2', 30)],
      routes: [route({ oif: 2, gateway: '198.51.100.1' })],
      rules: [],
    },
    'initial dump',
  );
  w.apply([{ kind: 'link', op: 'new', link: link(2, 'wan1', { carrier: false }) }]);
  assert.equal(w.snapshot().links.get(2)?.carrier, false);
  w.apply([{ kind: 'link', op: 'del', link: link(2, 'wan1') }]);
  const s = w.snapshot();
  assert.equal(s.links.size, 1);
  assert.equal(s.addrs.size, 0);
  assert.equal(s.routes.size, 0);
  assert.deepEqual(reasons, ['initial dump', 'carrier change: wan1', '1 kernel event(s)']);
  assert.ok(isEmptyDelta(computeDelta(emptyWorld(), emptyWorld())));
});

test('a carrier change is urgent for the reconcile loop; other link news is not', () => {
  const calls: [string, boolean | undefined][] = [];
  const w = new World((r, urgent) => calls.push([r, urgent]));
  const l = { index: 2, name: 'wan0', up: true, carrier: false, operstate: 'down', mtu: 1500 };
  w.apply([{ kind: 'link', op: 'new', link: l }]);
  w.apply([{ kind: 'link', op: 'new', link: { ...l, mtu: 1400 } }]);
  w.apply([{ kind: 'link', op: 'new', link: { ...l, carrier: true, operstate: 'up' } }]);
  assert.deepEqual(
    calls.map((c) => c[1]),
    [false, false, true],
  );
});

test('World keeps routes that differ only in device or gateway; a replace drops the one it replaced', () => {
  const w = new World(() => undefined);
  const ra = (oif: number, gateway: string): RouteInfo => ({
    family: 6,
    table: 254,
    protocol: 9,
    type: 'unicast',
    dst: '::',
    dstLen: 0,
    gateway,
    oif,
    metric: 1024,
    linkdown: false,
  });
  w.reset({ routes: [ra(2, 'fe80::1'), ra(3, 'fe80::1')], rules: [] }, 'dump');
  assert.equal(w.snapshot().routes.size, 2, 'two RA defaults, one per interface, are both kept');
  const ours = (gateway: string, oif: number): RouteInfo => ({
    ...ra(oif, gateway),
    table: 7301,
    protocol: 201,
    metric: 10,
  });
  w.apply([{ kind: 'route', op: 'new', route: ours('fe80::1', 2) }]);
  w.apply([{ kind: 'route', op: 'new', route: ours('fe80::2', 3), replaced: true }]);
  const t = [...w.snapshot().routes.values()].filter((r) => r.table === 7301);
  assert.deepEqual(
    t.map((r) => `${r.gateway} ${r.oif}`),
    ['fe80::2 3'],
    'the replaced route is gone',
  );
  // A replace announced for one owner's route leaves other owners' siblings alone.
  w.apply([{ kind: 'route', op: 'new', route: { ...ra(2, 'fe80::5'), protocol: 201 }, replaced: true }]);
  assert.equal([...w.snapshot().routes.values()].filter((r) => r.table === 254).length, 3);
  w.apply([{ kind: 'route', op: 'del', route: ra(3, 'fe80::1') }]);
  assert.equal([...w.snapshot().routes.values()].filter((r) => r.table === 254).length, 2);
});
