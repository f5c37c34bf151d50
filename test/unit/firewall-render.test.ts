// The pure firewall renderer: literal expectations on the rendered libnftables JSON.
// (test/lab/firewall-render-nft.test.ts feeds the same renderings to the real nft.)

import { TABLE } from '../../src/model/nft.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  planForwards,
  readGeneration,
  renderRuleset,
  renderTable,
  type FirewallInput,
} from '../../src/firewall/render.js';

type Obj = Record<string, any>;

const T = { family: 'inet', table: 'uplinkd' };
const WAN = { match: { op: '==', left: { meta: { key: 'iifname' } }, right: '@wan_ifaces' } };
const dport = (proto: string) => ({ payload: { protocol: proto, field: 'dport' } });

const EMPTY: FirewallInput = { uplinks: [], zones: [], forwards: [], input: [], fwmarkMask: 0xff0000, generation: 1 };

const FULL: FirewallInput = {
  uplinks: [
    { name: 'fiber', iface: 'eth0', mark: 0x010000 },
    { name: 'lte', iface: 'wwan0', mark: 0x020000 },
  ],
  zones: [
    { iface: 'eth1', zone: 'lan' },
    { iface: 'eth2', zone: 'dmz' },
  ],
  forwards: [
    { proto: 'tcp', port: 80, to: '192.168.2.10:8080' },
    { proto: 'tcp', port: 443, to: '192.168.2.10:443' },
    { proto: 'udp', port: '5000-5010', to: '192.168.2.11' },
  ],
  input: [],
  fwmarkMask: 0xff0000,
  generation: 42,
};

const items = (i: FirewallInput): Obj[] => renderTable(i).nftables as Obj[];
const rules = (i: FirewallInput, chain?: string): Obj[] =>
  items(i)
    .filter((o) => o.rule && (!chain || o.rule.chain === chain))
    .map((o) => o.rule);
const named = (i: FirewallInput, kind: 'set' | 'map' | 'chain', name: string): Obj | undefined =>
  items(i).find((o) => o[kind]?.name === name)?.[kind];
const fwds = (n: number, base = 10000) =>
  Array.from({ length: n }, (_, k) => ({ proto: 'tcp' as const, port: base + k, to: `10.1.${k >> 8}.${k & 255}:22` }));

test('an empty config renders a valid minimal table: sets, five chains, masquerade, wan drops', () => {
  const all = items(EMPTY);
  assert.deepEqual(all[0], { table: { family: 'inet', name: 'uplinkd' } });
  assert.deepEqual(
    all.filter((o) => o.set).map((o) => o.set),
    [
      { ...T, name: 'wan_ifaces', type: 'ifname' },
      { ...T, name: 'generation', type: 'mark', elem: [1] },
      { ...T, name: 'wan_addrs4', type: 'ipv4_addr' },
    ],
  );
  assert.equal(all.filter((o) => o.map).length, 0, 'no forwards, no maps');
  assert.deepEqual(
    all.filter((o) => o.chain).map((o) => o.chain),
    [
      { ...T, name: 'mangle_pre', type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' },
      { ...T, name: 'nat_pre', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' },
      { ...T, name: 'nat_post', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
      { ...T, name: 'forward', type: 'filter', hook: 'forward', prio: 0, policy: 'accept' },
      { ...T, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' },
    ],
  );
  const count = (c: string) => rules(EMPTY, c).length;
  assert.deepEqual(['mangle_pre', 'nat_pre', 'nat_post', 'forward', 'input'].map(count), [0, 0, 1, 4, 4]);
  for (const r of rules(EMPTY))
    assert.ok(
      typeof r.comment === 'string' && r.comment.length > 0 && r.comment.length < 128,
      'every rule says what it is for',
    );
});

test('masquerade: IPv4 out of every uplink, nothing else', () => {
  assert.deepEqual(rules(FULL, 'nat_post'), [
    {
      ...T,
      chain: 'nat_post',
      comment: 'masquerade IPv4 out of every uplink, always',
      expr: [
        { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: '@wan_ifaces' } },
        { masquerade: null },
      ],
    },
  ]);
  assert.deepEqual(named(FULL, 'set', 'wan_ifaces'), {
    ...T,
    name: 'wan_ifaces',
    type: 'ifname',
    elem: ['eth0', 'wwan0'],
  });
});

test('snat: an uplink with a fixed address is SNATed before the masquerade rule catches the rest', () => {
  const i: FirewallInput = { ...FULL, uplinks: [{ ...FULL.uplinks[0]!, snat: '198.51.100.2' }, FULL.uplinks[1]!] };
  const post = rules(i, 'nat_post');
  assert.deepEqual(
    post.map((r) => r.comment),
    ['uplink fiber: SNAT IPv4 out of eth0 to 198.51.100.2', 'masquerade IPv4 out of every uplink, always'],
  );
  assert.deepEqual(post[0]!.expr, [
    { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
    { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'eth0' } },
    { snat: { family: 'ip', addr: '198.51.100.2' } },
  ]);
});

test('two forwards land in one map pair with 2 elements and ONE dnat rule; a kept-port range in the interval map', () => {
  assert.deepEqual(named(FULL, 'map', 'fwd4_tcp'), {
    ...T,
    name: 'fwd4_tcp',
    type: 'inet_service',
    map: 'ipv4_addr',
    elem: [
      [80, '192.168.2.10'],
      [443, '192.168.2.10'],
    ],
  });
  assert.deepEqual(named(FULL, 'map', 'fwd4_tcp_port'), {
    ...T,
    name: 'fwd4_tcp_port',
    type: 'inet_service',
    map: 'inet_service',
    elem: [
      [80, 8080],
      [443, 443],
    ],
  });
  assert.deepEqual(named(FULL, 'map', 'fwd4_udp_keep'), {
    ...T,
    name: 'fwd4_udp_keep',
    type: 'inet_service',
    map: 'ipv4_addr',
    flags: ['interval'],
    elem: [[{ range: [5000, 5010] }, '192.168.2.11']],
  });
  assert.deepEqual(
    rules(FULL, 'nat_pre').map((r) => r.expr),
    [
      [
        WAN,
        {
          dnat: {
            family: 'ip',
            addr: { map: { key: dport('tcp'), data: '@fwd4_tcp' } },
            port: { map: { key: dport('tcp'), data: '@fwd4_tcp_port' } },
          },
        },
      ],
      [WAN, { dnat: { family: 'ip', addr: { map: { key: dport('udp'), data: '@fwd4_udp_keep' } } } }],
    ],
  );
});

test('1000 forwards still render ONE dnat rule per map', () => {
  const i = { ...FULL, forwards: [...fwds(1000), { proto: 'udp' as const, port: 53, to: '[2001:db8::53]:53' }] };
  const nat = rules(i, 'nat_pre');
  assert.equal(nat.length, 2);
  assert.equal(named(i, 'map', 'fwd4_tcp')!.elem.length, 1000);
  assert.equal(named(i, 'map', 'fwd4_tcp_port')!.elem.length, 1000);
  assert.deepEqual(named(i, 'map', 'fwd6_udp')!.elem, [[53, '2001:db8::53']]);
  assert.deepEqual(nat[1]!.expr[1], {
    dnat: {
      family: 'ip6',
      addr: { map: { key: dport('udp'), data: '@fwd6_udp' } },
      port: { map: { key: dport('udp'), data: '@fwd6_udp_port' } },
    },
  });
});

test('forwards: table of where each kind goes', () => {
  const ups = FULL.uplinks;
  const cases: { name: string; f: FirewallInput['forwards'][number]; maps?: string[]; rule?: Obj[]; note?: RegExp }[] =
    [
      { name: 'single port to IP:PORT', f: { proto: 'tcp', port: 80, to: '10.0.0.1:8080' }, maps: ['fwd4_tcp'] },
      {
        name: 'single port to IP keeps the port',
        f: { proto: 'tcp', port: 80, to: '10.0.0.1' },
        maps: ['fwd4_tcp_keep'],
      },
      {
        name: 'range to its own first port keeps the ports',
        f: { proto: 'udp', port: '60-70', to: '10.0.0.1:60' },
        maps: ['fwd4_udp_keep'],
      },
      { name: 'IPv6 target', f: { proto: 'tcp', port: 22, to: '[2001:db8:66::10]:2222' }, maps: ['fwd6_tcp'] },
      {
        name: 'restricted to one uplink and sources: a rule of its own (sources of the other family dropped)',
        f: {
          proto: 'tcp',
          port: 2222,
          to: '10.0.0.2:22',
          uplink: 'fiber',
          from: ['198.51.100.0/24', '2001:db8::/32', '192.0.2.0/24'],
        },
        rule: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'ip', field: 'saddr' } },
              right: {
                set: [{ prefix: { addr: '192.0.2.0', len: 24 } }, { prefix: { addr: '198.51.100.0', len: 24 } }],
              },
            },
          },
          { match: { op: '==', left: dport('tcp'), right: 2222 } },
          { dnat: { family: 'ip', addr: '10.0.0.2', port: 22 } },
        ],
      },
      {
        name: 'restricted to two uplinks, IPv6, keeping the port',
        f: { proto: 'udp', port: '7000-7010', to: '2001:db8:66::7', uplink: ['lte', 'fiber'] },
        rule: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: { set: ['eth0', 'wwan0'] } } },
          { match: { op: '==', left: dport('udp'), right: { range: [7000, 7010] } } },
          { dnat: { family: 'ip6', addr: '2001:db8:66::7' } },
        ],
      },
      {
        name: 'range to one other port: a rule (every port of the range goes to that port)',
        f: { proto: 'tcp', port: '9000-9010', to: '10.0.0.3:7000' },
        rule: [
          WAN,
          { match: { op: '==', left: dport('tcp'), right: { range: [9000, 9010] } } },
          { dnat: { family: 'ip', addr: '10.0.0.3', port: 7000 } },
        ],
      },
      {
        name: 'from only the other family: not rendered',
        f: { proto: 'tcp', port: 1, to: '10.0.0.1', from: ['2001:db8::/32'] },
        note: /no IPv4 source/,
      },
      {
        name: 'unknown uplink only: not rendered',
        f: { proto: 'tcp', port: 1, to: '10.0.0.1', uplink: 'nope' },
        note: /no configured uplink/,
      },
      {
        name: "a hairpin zone keeps the forward in its map, plus a rule for the zone's hosts that use an uplink address",
        f: { proto: 'tcp', port: 1, to: '10.0.0.1', zone: 'lan' },
        maps: ['fwd4_tcp_keep'],
        rule: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: '@zone_lan' } },
          { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@wan_addrs4' } },
          { match: { op: '==', left: dport('tcp'), right: 1 } },
          { dnat: { family: 'ip', addr: '10.0.0.1' } },
        ],
      },
    ];
  for (const c of cases) {
    const i: FirewallInput = { ...EMPTY, uplinks: ups, forwards: [c.f] };
    const plan = planForwards(i.forwards, ups);
    assert.deepEqual(
      plan.maps.map((m) => m.name),
      c.maps ?? [],
      c.name,
    );
    const own = rules(i, 'nat_pre').filter((r) => String(r.comment).startsWith('forwards[0]'));
    if (c.rule)
      assert.deepEqual(
        own.map((r) => r.expr),
        [c.rule],
        c.name,
      );
    else assert.equal(own.length, 0, c.name);
    if (c.note) assert.match(plan.notes.map((n) => n.message).join('\n'), c.note, c.name);
    else assert.deepEqual(plan.notes, [], c.name);
  }
});

test('restricted forwards come before the map rules, so the specific match wins', () => {
  const i = {
    ...FULL,
    forwards: [...FULL.forwards, { proto: 'tcp' as const, port: 80, to: '192.168.2.99:80', from: ['192.0.2.0/24'] }],
  };
  assert.deepEqual(
    rules(i, 'nat_pre').map((r) => r.comment),
    [
      'forwards[3]: tcp 80 to 192.168.2.99:80 from 192.0.2.0/24',
      'port forwards IPv4 tcp: 2 in map fwd4_tcp',
      'port forwards IPv4 udp keeping the port: 1 in map fwd4_udp_keep',
    ],
  );
});

test('clashing forwards: the earlier one keeps the port, the later one is reported and left out', () => {
  const plan = planForwards(
    [
      { proto: 'tcp', port: 80, to: '10.0.0.1:80' },
      { proto: 'tcp', port: 80, to: '10.0.0.2:80' }, // same key in the same map
      { proto: 'tcp', port: '8000-8100', to: '10.0.0.3' },
      { proto: 'tcp', port: '8050-8200', to: '10.0.0.4' }, // overlapping interval
      { proto: 'tcp', port: 8080, to: '10.0.0.5:80' }, // inside an earlier kept range
      { proto: 'tcp', port: '70-90', to: '10.0.0.6' }, // holds 80 of forwards[0]: kept, 80 stays with [0]
      { proto: 'udp', port: 80, to: '10.0.0.7:80' }, // other protocol: no clash
      { proto: 'tcp', port: 80, to: '[2001:db8::1]:80' }, // other family: no clash
    ],
    [],
  );
  assert.deepEqual(
    plan.notes.map((n) => n.index),
    [1, 3, 4, 5],
  );
  assert.match(plan.notes[0]!.message, /overlaps forwards\[0\]/);
  assert.match(plan.notes[3]!.message, /stay with forwards\[0\]/);
  const byName = Object.fromEntries(
    plan.maps.map((m) => [m.name, m.entries.map((e) => `${e.first}-${e.last}>${e.addr}`)]),
  );
  assert.deepEqual(byName, {
    fwd4_tcp: ['80-80>10.0.0.1'],
    fwd4_tcp_keep: ['70-90>10.0.0.6', '8000-8100>10.0.0.3'],
    fwd4_udp: ['80-80>10.0.0.7'],
    fwd6_tcp: ['80-80>2001:db8::1'],
  });
});

test('zone sets, and the zone policy in forward', () => {
  const i = { ...FULL, zones: [...FULL.zones, { iface: 'eth3', zone: 'lan' }, { iface: 'wg0', zone: 'guest' }] };
  assert.deepEqual(
    items(i)
      .filter((o) => o.set?.name.startsWith('zone_'))
      .map((o) => o.set),
    [
      { ...T, name: 'zone_dmz', type: 'ifname', elem: ['eth2'] },
      { ...T, name: 'zone_guest', type: 'ifname', elem: ['wg0'] },
      { ...T, name: 'zone_lan', type: 'ifname', elem: ['eth1', 'eth3'] },
    ],
  );
  const iif = (r: Obj) => r.expr.find((e: Obj) => e.match?.left?.meta?.key === 'iifname')?.match.right;
  const oif = (r: Obj) => r.expr.find((e: Obj) => e.match?.left?.meta?.key === 'oifname')?.match.right;
  const verdict = (r: Obj) => Object.keys(r.expr.at(-1))[0];
  assert.deepEqual(
    rules(i, 'forward').map((r) => [iif(r) ?? '-', oif(r) ?? '-', verdict(r)]),
    [
      ['-', '@wan_ifaces', 'mangle'], // MSS clamp, before any accept
      ['-', '-', 'accept'], // established, related
      ['-', '-', 'accept'], // ct status dnat
      ['@zone_dmz', '@zone_lan', 'drop'],
      ['@zone_dmz', '@wan_ifaces', 'accept'],
      ['@zone_guest', '@wan_ifaces', 'accept'],
      ['@zone_lan', '@wan_ifaces', 'accept'],
      ['@wan_ifaces', '-', 'drop'],
    ],
  );
  const noDmz = { ...FULL, zones: [{ iface: 'eth1', zone: 'lan' }] };
  assert.ok(!rules(noDmz, 'forward').some((r) => /dmz/.test(r.comment)), 'dmz → lan only when both exist');
  assert.ok(
    !rules({ ...FULL, mssClamp: false }, 'forward').some((r) => /MSS/.test(r.comment)),
    'mssClamp: false drops the clamp',
  );
  assert.deepEqual(rules(FULL, 'forward')[0]!.expr.slice(1), [
    {
      match: {
        op: '==',
        left: { '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, ['syn', 'rst']] },
        right: 'syn',
      },
    },
    { mangle: { key: { 'tcp option': { name: 'maxseg', field: 'size' } }, value: { rt: { key: 'mtu' } } } },
  ]);
});

test('ct mark on new inbound connections per uplink, restored under the mask on replies from elsewhere', () => {
  const ctMark = { ct: { key: 'mark' } };
  const metaMark = { meta: { key: 'mark' } };
  assert.deepEqual(
    rules(FULL, 'mangle_pre').map((r) => r.expr),
    [
      [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
        { mangle: { key: ctMark, value: { '|': [{ '&': [ctMark, 0xff00ffff] }, 0x010000] } } },
      ],
      [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'wwan0' } },
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
        { mangle: { key: ctMark, value: { '|': [{ '&': [ctMark, 0xff00ffff] }, 0x020000] } } },
      ],
      [
        { match: { op: '!=', left: { meta: { key: 'iifname' } }, right: '@wan_ifaces' } },
        { match: { op: '==', left: { '&': [ctMark, 0xff0000] }, right: 0x010000 } },
        { mangle: { key: metaMark, value: { '|': [{ '&': [metaMark, 0xff00ffff] }, 0x010000] } } },
      ],
      [
        { match: { op: '!=', left: { meta: { key: 'iifname' } }, right: '@wan_ifaces' } },
        { match: { op: '==', left: { '&': [ctMark, 0xff0000] }, right: 0x020000 } },
        { mangle: { key: metaMark, value: { '|': [{ '&': [metaMark, 0xff00ffff] }, 0x020000] } } },
      ],
    ],
  );
  const bad: [string, Partial<FirewallInput>][] = [
    ['zero mark', { uplinks: [{ name: 'a', iface: 'a0', mark: 0 }] }],
    ['mark outside the mask', { uplinks: [{ name: 'a', iface: 'a0', mark: 0x1 }] }],
    [
      'shared mark',
      {
        uplinks: [
          { name: 'a', iface: 'a0', mark: 0x10000 },
          { name: 'b', iface: 'b0', mark: 0x10000 },
        ],
      },
    ],
    ['negative generation', { generation: -1 }],
  ];
  for (const [what, patch] of bad) assert.throws(() => renderTable({ ...EMPTY, ...patch }), Error, what);
});

test('input from the uplinks: established, ICMP, DHCPv6, opened ports split by source family, then drop', () => {
  const i: FirewallInput = {
    ...FULL,
    input: [
      { proto: 'tcp', port: 22, from: ['192.0.2.0/24', '2001:db8:5::/48', '198.51.100.0/24'] },
      { proto: 'udp', port: '60000-61000' },
    ],
  };
  const r = rules(i, 'input');
  assert.deepEqual(
    r.map((x) => x.comment),
    [
      "uplinks: replies to the gateway's own connections (probes, DNS, dial-up)",
      'uplinks: ICMP and ICMPv6 (neighbour discovery, PMTU, ping)',
      'uplinks: DHCPv6 replies from the ISP router (not tracked as replies)',
      'input[0]: tcp 22 open from 192.0.2.0/24,198.51.100.0/24',
      'input[0]: tcp 22 open from 2001:db8:5::/48',
      'input[1]: udp 60000-61000 open from the uplinks',
      'uplinks: everything else to the gateway is dropped',
    ],
  );
  for (const x of r) assert.deepEqual(x.expr[0], WAN, 'every input rule is about the uplinks only');
  assert.deepEqual(r[1]!.expr[1], {
    match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['icmp', 'icmpv6'] } },
  });
  assert.deepEqual(r[4]!.expr.slice(1), [
    { match: { op: '==', left: dport('tcp'), right: 22 } },
    {
      match: {
        op: '==',
        left: { payload: { protocol: 'ip6', field: 'saddr' } },
        right: { prefix: { addr: '2001:db8:5::', len: 48 } },
      },
    },
    { accept: null },
  ]);
  assert.deepEqual(r[5]!.expr.slice(1), [
    { match: { op: '==', left: dport('udp'), right: { range: [60000, 61000] } } },
    { accept: null },
  ]);
  assert.deepEqual(r[6]!.expr, [WAN, { drop: null }]);
});

test('the batch replaces only our table, atomically: add, delete, add + contents', () => {
  const batch = renderRuleset(FULL).nftables as Obj[];
  const table = { table: { family: 'inet', name: TABLE } };
  assert.deepEqual(batch.slice(0, 4), [
    { metainfo: { json_schema_version: 1 } },
    { add: table },
    { delete: table },
    { add: table },
  ]);
  const contents = items(FULL).slice(1);
  assert.deepEqual(
    batch.slice(4),
    contents.map((o) => ({ add: o })),
  );
  for (const c of batch.slice(1)) {
    const o = Object.values(c)[0] as Obj;
    const inner = Object.values(o)[0] as Obj;
    assert.equal(inner.family, 'inet');
    assert.equal(inner.table ?? inner.name, 'uplinkd', 'nothing outside table inet uplinkd');
  }
});

test('generation marker: rendered as a mark element and read back from a listing', () => {
  assert.deepEqual(named(FULL, 'set', 'generation'), { ...T, name: 'generation', type: 'mark', elem: [42] });
  assert.equal(readGeneration(renderTable(FULL)), 42);
  assert.equal(readGeneration(renderTable({ ...FULL, generation: 2 ** 32 + 5 })), 5, 'wraps at 32 bits');
  // As `nft -j list table inet uplinkd` prints it (metainfo, handles).
  const listing = {
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'uplinkd', handle: 7 } },
      { set: { family: 'inet', name: 'generation', table: 'uplinkd', type: 'mark', handle: 3, elem: [9] } },
    ],
  };
  assert.equal(readGeneration(listing), 9);
  assert.equal(readGeneration({ nftables: [listing.nftables[1]] }), undefined, 'flushed set or foreign table');
  assert.equal(readGeneration(undefined), undefined);
});

test('determinism: the same input renders byte-identical JSON; set elements are sorted', () => {
  const big: FirewallInput = {
    ...FULL,
    forwards: [
      ...fwds(300).reverse(),
      ...FULL.forwards,
      {
        proto: 'tcp',
        port: 2222,
        to: '10.0.0.2:22',
        uplink: ['lte', 'fiber'],
        from: ['2001:db8::/32', '192.0.2.0/24'],
      },
    ],
    input: [{ proto: 'tcp', port: 22, from: ['198.51.100.0/24', '192.0.2.0/24'] }],
  };
  const a = JSON.stringify(renderRuleset(big));
  const b = JSON.stringify(renderRuleset(structuredClone(big)));
  assert.equal(a, b);
  const shuffled = { ...big, zones: [...big.zones].reverse(), forwards: [...big.forwards] };
  assert.deepEqual(named(shuffled, 'set', 'zone_lan'), named(big, 'set', 'zone_lan'));
  const ports = named(big, 'map', 'fwd4_tcp')!.elem.map((e: [number, string]) => e[0]);
  assert.deepEqual(
    ports,
    [...ports].sort((x, y) => x - y),
    'map elements sorted by port',
  );
});

test("hairpin: the zone's uplink-address traffic is DNATed, and masqueraded when it stays inside the zone", () => {
  const i: FirewallInput = {
    ...EMPTY,
    uplinks: FULL.uplinks,
    zones: [{ iface: 'lan0', zone: 'lan' }],
    wanAddrs4: ['198.51.100.2', '203.0.113.2'],
    forwards: [{ proto: 'tcp', port: 8080, to: '10.0.0.5:80', zone: 'lan' }],
  };
  const t = renderTable(i).nftables as Record<string, { name?: string; elem?: unknown }>[];
  assert.deepEqual(t.find((o) => o.set?.name === 'wan_addrs4')?.set?.elem, ['198.51.100.2', '203.0.113.2']);
  assert.deepEqual(
    rules(i, 'nat_post').map((r) => r.comment),
    ['masquerade IPv4 out of every uplink, always', 'hairpin inside zone lan: the server answers through the gateway'],
  );
  assert.equal(
    rules({ ...i, forwards: [{ proto: 'tcp', port: 8080, to: '10.0.0.5:80' }] }, 'nat_post').length,
    1,
    'no hairpin, no extra masquerade',
  );
});

const ROUTED: FirewallInput = {
  ...FULL,
  uplinks: [{ ...FULL.uplinks[0]!, snat: '198.51.100.2' }, FULL.uplinks[1]!],
  routed: [
    {
      lan: 1,
      iface: 'eth2',
      prefixes: ['203.0.113.64/27'],
      via: [{ name: 'fiber', iface: 'eth0' }],
      fallback: 'masquerade',
    },
    {
      lan: 2,
      iface: 'eth3',
      prefixes: ['192.0.2.0/28', '192.0.2.16/28'],
      via: [{ name: 'lte', iface: 'wwan0' }],
      fallback: 'drop',
    },
  ],
  forwardOpens: [
    { proto: 'tcp', port: 80, to: '203.0.113.70' },
    { proto: 'udp', port: '5060-5061', to: '192.0.2.0/28', from: ['198.51.100.0/24'] },
  ],
};
const saddr = (right: unknown) => ({
  match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right },
});
const pfx = (addr: string, len: number) => ({ prefix: { addr, len } });
/** A null binding (NAT to its own source): another table's NAT chain cannot masquerade it after us. */
const SELF = { snat: { family: 'ip', addr: { payload: { protocol: 'ip', field: 'saddr' } } } };
/** Port-forward replies are exempt from the routed guard: they leave under the uplink's address. */
const DNAT_NONE = { match: { op: '==', left: { '&': [{ ct: { key: 'status' } }, 'dnat'] }, right: 0 } };

test('routed: nat keeps the source out of the via uplinks only, before SNAT and masquerade; never port-forwarded', () => {
  const post = rules(ROUTED, 'nat_post');
  assert.deepEqual(
    post.map((r) => r.expr),
    [
      [
        saddr(pfx('203.0.113.64', 27)),
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'eth0' } },
        SELF,
      ],
      [
        saddr({ set: [pfx('192.0.2.0', 28), pfx('192.0.2.16', 28)] }),
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'wwan0' } },
        SELF,
      ],
      post[2]!.expr,
      post[3]!.expr,
    ],
  );
  assert.equal(post.length, 4);
  assert.deepEqual(
    post.slice(2).map((r) => r.comment),
    ['uplink fiber: SNAT IPv4 out of eth0 to 198.51.100.2', 'masquerade IPv4 out of every uplink, always'],
  );
  const pre = rules(ROUTED, 'nat_pre')[0]!;
  assert.deepEqual(pre.expr, [
    WAN,
    {
      match: {
        op: '==',
        left: { payload: { protocol: 'ip', field: 'daddr' } },
        right: { set: [pfx('192.0.2.0', 28), pfx('192.0.2.16', 28), pfx('203.0.113.64', 27)] },
      },
    },
    { accept: null },
  ]);
});

test('routed: the forward guard comes before replies are accepted; opens and ICMP before the wan drop', () => {
  const fwd = rules(ROUTED, 'forward').map((r) => String(r.comment));
  const at = (s: string) => fwd.findIndex((c) => c.includes(s));
  assert.ok(at('un-NATed flows never leave') < at('replies and related'), fwd.join('\n'));
  assert.ok(at('fallback drop') < at('replies and related'));
  assert.equal(at('nothing from an uplink carries the routed source'), at('clamp') + 1, 'spoofed sources go first');
  assert.equal(at('dials no demand uplink'), -1, 'no proxy guard without demand proxies');
  const input = rules(ROUTED, 'input');
  assert.match(String(input[0]!.comment), /nothing from an uplink carries the routed source/);
  for (const s of [
    'ICMP errors and echo requests',
    'firewall.forward[0]: tcp 80 to 203.0.113.70',
    'firewall.forward[1]: udp 5060-5061',
  ])
    assert.ok(at(s) > at('may reach the Internet') && at(s) < at('nothing else from an uplink'), s);
  const guard = rules(ROUTED, 'forward');
  const drop = guard[at('fallback drop')]!.expr;
  assert.deepEqual(drop, [
    saddr({ set: [pfx('192.0.2.0', 28), pfx('192.0.2.16', 28)] }),
    { match: { op: '==', left: { meta: { key: 'oifname' } }, right: '@wan_ifaces' } },
    { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'wwan0' } },
    DNAT_NONE,
    { reject: { type: 'icmp', expr: 'net-unreachable' } },
  ]);
  const leak = guard[at('un-NATed')]!.expr;
  assert.deepEqual(leak.slice(3), [
    DNAT_NONE,
    { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
    { match: { op: '==', left: { '&': [{ ct: { key: 'status' } }, 'snat'] }, right: 0 } },
    { drop: null },
  ]);
  assert.deepEqual(guard[at('firewall.forward[1]')]!.expr, [
    WAN,
    { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: '@wan_ifaces' } },
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: pfx('192.0.2.0', 28) } },
    saddr(pfx('198.51.100.0', 24)),
    { match: { op: '==', left: dport('udp'), right: { range: [5060, 5061] } } },
    { accept: null },
  ]);
});

test('routed: nothing of it without routed entries or opens', () => {
  const all = items(FULL).map((o) => JSON.stringify(o));
  assert.ok(!all.some((s) => /routed (prefixes|\d)|keeps its source|firewall\.forward|un-NATed/.test(s)));
});

test('routed: fallback drop refuses what would dial a demand uplink; IPv6 forward targets get ICMPv6', () => {
  const i: FirewallInput = {
    ...ROUTED,
    demand: {
      uplinks: [{ name: 'dsl', iface: 'ppp0', proxy: 'dod-dsl', idleMs: 300_000 }],
      rules: [],
      fwmarkMask: 0xff0000,
    },
    forwardOpens: [...ROUTED.forwardOpens!, { proto: 'tcp', port: 443, to: '2001:db8:5::10' }],
  };
  const fwd = rules(i, 'forward');
  const proxy = fwd.find((r) => String(r.comment).includes('dials no demand uplink'))!;
  assert.deepEqual(proxy.expr.slice(1), [
    { match: { op: '==', left: { meta: { key: 'oifname' } }, right: '@proxy_ifaces' } },
    DNAT_NONE,
    { reject: { type: 'icmp', expr: 'net-unreachable' } },
  ]);
  assert.match(String(proxy.comment), /^lan\[2\] eth3/, 'only the drop entry');
  const v6 = fwd.find((r) => String(r.comment).startsWith('ICMPv6 errors'))!;
  assert.deepEqual(v6.expr[2], {
    match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '2001:db8:5::10' },
  });
});
