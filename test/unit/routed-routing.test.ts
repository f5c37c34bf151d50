/**
 * Routed prefixes in routing (pure): which via uplink carries each routed LAN entry
 * (routedEntries), what the kernel gets for it (desiredKernel), and what is reported when it
 * moves (routedMoves). Table-driven with literal inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { KERNEL_DEFAULTS } from '../../src/config/schema-control.js';
import { displayCommand } from '../../src/model/ops.js';
import { desiredKernel } from '../../src/routing/desired.js';
import { routedEntries, routedMoves, type CarrierView, type RoutedEntry } from '../../src/routing/routed.js';
import type { LinkFacts } from '../../src/uplinks/facts.js';

const cfg = parseConfigText(
  `uplinks:
  isp1: { interface: wan1, priority: 10 }
  isp2: { interface: wan2, mode: backup, priority: 20 }
  isp3: { interface: wan3, mode: backup, priority: 5 }
lan:
  - { interface: lan0, zone: lan }
  - { interface: dmz0, zone: dmz, routed: [203.0.113.64/27], via: [isp1] }
  - { interface: dmz1, zone: dmz, routed: [192.0.2.128/28, 192.0.2.160/28], via: [isp2, isp3], fallback: drop }
`,
  'uplinkd.yaml',
);

const facts = (n: number, o: Partial<LinkFacts> = {}): LinkFacts => ({
  present: true,
  carrier: true,
  index: n + 1,
  v4: { address: `198.51.100.${4 * n + 2}`, gateway: `198.51.100.${4 * n + 1}` },
  ...o,
});
const ok = { 4: true, 6: true };
const view = (ranked: string[], o: Record<string, { facts?: LinkFacts; familyOk?: typeof ok; iface?: string }> = {}) =>
  ({
    ranked,
    uplinks: new Map(
      ['isp1', 'isp2', 'isp3'].map((name, i) => [
        name,
        { iface: `wan${i + 1}`, facts: facts(i + 1), familyOk: ok, ...o[name] },
      ]),
    ),
  }) satisfies CarrierView;

/** [name, ranked usable uplinks, overrides, carriers of lan[1], carriers of lan[2]]. */
const CARRIERS: [string, string[], Parameters<typeof view>[1], string[], string[]][] = [
  ['all usable: each entry its best via uplink, by rank', ['isp1', 'isp3', 'isp2'], {}, ['isp1'], ['isp3', 'isp2']],
  ['the selection forced elsewhere does not matter: ranked ignores force', ['isp1', 'isp2'], {}, ['isp1'], ['isp2']],
  ['no via uplink usable: on the fallback', ['isp2'], {}, [], ['isp2']],
  [
    'a via uplink without an IPv4 gateway cannot carry',
    ['isp1', 'isp3'],
    { isp1: { facts: facts(1, { v4: { address: '198.51.100.6' } }) } },
    [],
    ['isp3'],
  ],
  ['a via uplink whose IPv4 probes fail cannot carry', ['isp1'], { isp1: { familyOk: { 4: false, 6: true } } }, [], []],
  ['a via uplink that is gone cannot carry', ['isp1'], { isp1: { facts: { present: false, carrier: false } } }, [], []],
  ['a via uplink that moved to another interface (reload) cannot carry', ['isp1'], { isp1: { iface: 'eth9' } }, [], []],
];

for (const [name, ranked, o, one, two] of CARRIERS) {
  test(`routedEntries: ${name}`, () => {
    const e = routedEntries(cfg, view(ranked, o));
    assert.deepEqual(
      e.map((x) => [x.lan, x.carriers]),
      [
        [1, one],
        [2, two],
      ],
    );
  });
}

test('routedEntries: tables, fallbacks (masquerade by default), prefixes', () => {
  const e = routedEntries(cfg, view([]));
  assert.deepEqual(
    e.map(({ lan, table, fallback, prefixes, via }) => ({ lan, table, fallback, prefixes, via })),
    [
      { lan: 1, table: 7363, fallback: 'masquerade', prefixes: ['203.0.113.64/27'], via: ['isp1'] },
      { lan: 2, table: 7362, fallback: 'drop', prefixes: ['192.0.2.128/28', '192.0.2.160/28'], via: ['isp2', 'isp3'] },
    ],
  );
});

test('desiredKernel: routed tables hold the carriers best first, never an unreachable default (not for drop either), the block itself unreachable; rules sit before the selection', () => {
  const k = { ...KERNEL_DEFAULTS };
  const entries = routedEntries(cfg, view(['isp1', 'isp3', 'isp2']));
  const ups = ['isp1', 'isp2', 'isp3'].map((name, index) => ({
    name,
    index,
    table: 7301 + index,
    dev: `wan${index + 1}`,
    facts: facts(index + 1),
  }));
  const d = desiredKernel(ups, ['isp2'], 7300, k, entries);
  const routed = [
    ...d.routes
      .filter((r) => r.table >= 7362 || (r.table === 7300 && r.dstLen > 0))
      .map((route) => displayCommand({ op: 'add', route })),
    ...d.rules.filter((r) => r.table >= 7362 || r.table === 7300).map((rule) => displayCommand({ op: 'add', rule })),
  ];
  assert.deepEqual(routed, [
    'ip -4 route add 0.0.0.0/0 via 198.51.100.5 dev wan1 table 7363 proto 201 metric 100',
    'ip -4 route add unreachable 203.0.113.64/27 table 7363 proto 201 metric 4294967295',
    'ip -4 route add unreachable 203.0.113.64/27 table 7300 proto 201 metric 4294967295',
    'ip -4 route add 0.0.0.0/0 via 198.51.100.13 dev wan3 table 7362 proto 201 metric 100',
    'ip -4 route add 0.0.0.0/0 via 198.51.100.9 dev wan2 table 7362 proto 201 metric 101',
    'ip -4 route add unreachable 192.0.2.128/28 table 7362 proto 201 metric 4294967295',
    'ip -4 route add unreachable 192.0.2.128/28 table 7300 proto 201 metric 4294967295',
    'ip -4 route add unreachable 192.0.2.160/28 table 7362 proto 201 metric 4294967295',
    'ip -4 route add unreachable 192.0.2.160/28 table 7300 proto 201 metric 4294967295',
    'ip -4 rule add priority 7389 from 203.0.113.64/27 lookup 7363 protocol 201',
    'ip -4 rule add priority 7389 from 192.0.2.128/28 lookup 7362 protocol 201',
    'ip -4 rule add priority 7389 from 192.0.2.160/28 lookup 7362 protocol 201',
    'ip -4 rule add priority 7390 lookup 7300 protocol 201',
    'ip -6 rule add priority 7390 lookup 7300 protocol 201',
  ]);
  // The ingress rules (replies leave the way their connection came) come before the routed ones.
  const ingress = d.rules.filter((r) => r.fwmark !== undefined).map((r) => r.priority);
  assert.ok(Math.max(...ingress) < 7389);
  // On the fallback the table is empty, whatever the fallback: lookups fall through to the
  // selection (the ruleset masquerades or refuses what the routed prefixes send there).
  const none = desiredKernel(ups, ['isp1'], 7300, k, routedEntries(cfg, view(['isp1'])));
  assert.deepEqual(
    none.routes.filter((r) => r.table === 7362 && r.dstLen === 0),
    [],
    'no default: lookups outside the block fall through',
  );
  assert.equal(none.rules.filter((r) => r.table === 7362).length, 2, 'the rules stay: nothing to switch');
});

const entry = (lan: number, carriers: string[], fallback: RoutedEntry['fallback'] = 'masquerade'): RoutedEntry => ({
  lan,
  interface: `dmz${lan}`,
  zone: 'dmz',
  prefixes: ['203.0.113.64/27'],
  via: ['isp1', 'isp2'],
  fallback,
  table: 7363,
  carriers,
});

test('routedMoves: first sight, a move, the fallback, back, and nothing when nothing moved', () => {
  const last = new Map<number, string | undefined>();
  const step = (entries: RoutedEntry[]) => routedMoves(entries, last).map((m) => m.message);
  assert.deepEqual(step([entry(1, ['isp1', 'isp2'])]), ['203.0.113.64/27 (dmz1): carried by isp1']);
  assert.deepEqual(step([entry(1, ['isp1', 'isp2'])]), []);
  assert.deepEqual(step([entry(1, ['isp2'])]), ['203.0.113.64/27 (dmz1): isp1 → isp2']);
  assert.deepEqual(step([entry(1, [])]), [
    '203.0.113.64/27 (dmz1): no via uplink is usable (isp1, isp2); fallback masquerade: outbound is masqueraded through the selected uplink, inbound to the public addresses is lost',
  ]);
  assert.deepEqual(step([entry(1, [])]), []);
  assert.deepEqual(step([entry(1, ['isp1'])]), ['203.0.113.64/27 (dmz1): back on isp1']);
  assert.deepEqual(step([]), [], 'an entry removed by a reload says nothing');
  assert.equal(last.size, 0);
  // Not ready (a via uplink still being judged): neither reported nor forgotten.
  assert.deepEqual(
    routedMoves([entry(3, [])], last, () => false),
    [],
  );
  assert.equal(last.has(3), false);
  assert.deepEqual(step([entry(2, [], 'drop')]), [
    '203.0.113.64/27 (dmz2): no via uplink is usable (isp1, isp2); fallback drop: outbound is dropped, inbound to the public addresses is lost',
  ]);
});
