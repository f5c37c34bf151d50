/**
 * Routed prefixes (lan[].routed, via, fallback) and firewall.forward in the config:
 * table-driven config errors and warnings, and the table numbers they take.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText, parseConfigText } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/errors.js';
import { routedTables, uplinkTables } from '../../src/routing/tables.js';
import { configWarnings, type IfAddr } from '../../src/reconcile/warnings.js';

const UPLINKS = `uplinks:
  isp1: { interface: wan1, gateway: 198.51.100.1, address: 198.51.100.2/30 }
  isp2: { interface: wan2, mode: backup, gateway: 203.0.113.1 }
  dsl: { interface: ppp0, mode: demand, connect: "pppd call dsl nodetach" }
  spare: { interface: wan3, mode: manual }
`;
const withLan = (lan: string, extra = '') => `${UPLINKS}lan:\n  - { interface: lan0, zone: lan }\n${lan}${extra}`;
/** Without the demand uplink (it needs the firewall itself). */
const noDemand = (yaml: string) => yaml.replace(/ {2}dsl:.*\n/, '');
const dmz = (keys: string) => `  - { interface: dmz0, zone: dmz, ${keys} }\n`;

/** [name, config, path of the problem, text the message or hint holds]. */
const BAD: [string, string, string, string][] = [
  ['an IPv6 routed prefix', withLan(dmz('routed: ["2001:db8:5::/48"], via: [isp1]')), 'lan[1].routed[0]', 'IPv6'],
  [
    'a routed prefix with host bits',
    withLan(dmz('routed: [203.0.113.70/27], via: [isp1]')),
    'lan[1].routed[0]',
    'write the network: 203.0.113.64/27',
  ],
  ['a routed prefix that is no CIDR', withLan(dmz('routed: [203.0.113.64], via: [isp1]')), 'lan[1].routed[0]', 'CIDR'],
  ['a routed default route', withLan(dmz('routed: [0.0.0.0/0], via: [isp1]')), 'lan[1].routed[0]', 'shorter than /8'],
  ['a routed loopback block', withLan(dmz('routed: [127.0.0.0/8], via: [isp1]')), 'lan[1].routed[0]', 'loopback'],
  ['a routed multicast block', withLan(dmz('routed: [224.0.0.0/24], via: [isp1]')), 'lan[1].routed[0]', 'multicast'],
  [
    'a routed link-local block',
    withLan(dmz('routed: [169.254.1.0/24], via: [isp1]')),
    'lan[1].routed[0]',
    'link-local',
  ],
  [
    'a firewall.forward network with host bits (nft would open the whole network)',
    withLan('', 'firewall: { forward: [{ proto: tcp, port: 80, to: 203.0.113.70/27 }] }\n'),
    'firewall.forward[0].to',
    'write the address alone, or the network 203.0.113.64/27',
  ],
  ['routed without via', withLan(dmz('routed: [203.0.113.64/27]')), 'lan[1].via', 'routed prefixes need via'],
  ['via without routed', withLan(dmz('via: [isp1]')), 'lan[1].via', 'via without routed prefixes'],
  ['fallback without routed', withLan(dmz('fallback: drop')), 'lan[1].fallback', 'fallback without routed'],
  [
    'a fallback that does not exist',
    withLan(dmz('routed: [203.0.113.64/27], via: [isp1], fallback: nat')),
    'lan[1].fallback',
    'masquerade',
  ],
  [
    'via an unknown uplink',
    withLan(dmz('routed: [203.0.113.64/27], via: [isp3]')),
    'lan[1].via[0]',
    'did you mean "isp1"',
  ],
  ['via a demand uplink', withLan(dmz('routed: [203.0.113.64/27], via: [dsl]')), 'lan[1].via[0]', 'mode demand'],
  [
    'via a manual uplink',
    withLan(dmz('routed: [203.0.113.64/27], via: [isp1, spare]')),
    'lan[1].via[1]',
    'mode manual',
  ],
  [
    'two routed prefixes of one entry overlap',
    withLan(dmz('routed: [203.0.113.64/27, 203.0.113.80/28], via: [isp1]')),
    'lan[1].routed[1]',
    'overlaps 203.0.113.64/27 (lan[1].routed[0])',
  ],
  [
    'routed prefixes of two entries overlap',
    withLan(
      `${dmz('routed: [192.0.2.128/25], via: [isp1]')}  - { interface: dmz1, zone: dmz, routed: [192.0.2.0/24], via: [isp2] }\n`,
    ),
    'lan[2].routed[0]',
    'overlaps 192.0.2.128/25 (lan[1].routed[0])',
  ],
  [
    "a routed prefix holding an uplink's address",
    withLan(dmz('routed: [198.51.100.2/32], via: [isp1]')),
    'lan[1].routed[0]',
    "contains uplink isp1's address 198.51.100.2",
  ],
  [
    "a routed prefix holding an uplink's gateway",
    withLan(dmz('routed: [203.0.113.0/28], via: [isp1]')),
    'lan[1].routed[0]',
    "contains uplink isp2's gateway 203.0.113.1",
  ],
  [
    'routed with the firewall off',
    noDemand(withLan(dmz('routed: [203.0.113.64/27], via: [isp1]'), 'firewall: { enabled: false }\n')),
    'lan[1].routed',
    'need the firewall',
  ],
  [
    'firewall.forward with the firewall off',
    noDemand(withLan('', 'firewall: { enabled: false, forward: [{ proto: tcp, port: 80, to: 203.0.113.70 }] }\n')),
    'firewall.forward',
    'needs the firewall',
  ],
  [
    'a firewall.forward source of the other family',
    withLan('', 'firewall: { forward: [{ proto: tcp, port: 80, to: 203.0.113.70, from: ["2001:db8::/32"] }] }\n'),
    'firewall.forward[0].from[0]',
    'is IPv6, but to 203.0.113.70 is IPv4',
  ],
  [
    'a firewall.forward to something that is no address',
    withLan('', 'firewall: { forward: [{ proto: tcp, port: 80, to: www.example.org }] }\n'),
    'firewall.forward[0].to',
    'not an IP address',
  ],
  [
    'no table left for a routed entry',
    withLan(dmz('routed: [203.0.113.64/27], via: [isp1]'), 'control: { kernel: { table_count: 5 } }\n'),
    'control.kernel.table_count',
    '4 uplinks and 1 routed lan entry need one each',
  ],
  [
    'a rule range too small for the reply rules of every uplink',
    withLan(dmz('routed: [203.0.113.64/27], via: [isp1]'), 'control: { kernel: { rule_priority_count: 64 } }\n'),
    'control.kernel.rule_priority_count',
    'raise rule_priority_count to at least 65',
  ],
];

for (const [name, yaml, path, has] of BAD) {
  test(`routed config error: ${name}`, () => {
    const { config, problems } = checkConfigText(yaml, 'uplinkd.yaml');
    assert.equal(config, undefined);
    const shown = problems.map(formatProblem).join('\n');
    const p = problems.find((x) => x.path === path);
    assert.ok(p, `no problem at ${path}:\n${shown}`);
    assert.ok(`${p.message} — ${p.hint ?? ''}`.includes(has), shown);
    assert.equal(problems.length, 1, shown);
  });
}

test('routed config: without routed entries the reply rules need one priority less', () => {
  const yaml = (n: number) => withLan('', `control: { kernel: { rule_priority_count: ${n} } }\n`);
  assert.ok(checkConfigText(yaml(64), 'uplinkd.yaml').config);
  assert.equal(checkConfigText(yaml(63), 'uplinkd.yaml').config, undefined);
});

test('routed config: the example office validates; fallback defaults to masquerade', () => {
  const cfg = parseConfigText(
    withLan(
      dmz('routed: [203.0.113.64/27], via: [isp1]'),
      'firewall:\n  forward: [{ proto: tcp, port: 80, to: 203.0.113.70 }, { proto: tcp, port: 25, to: 203.0.113.64/28, from: [192.0.2.0/24] }]\n',
    ),
    'uplinkd.yaml',
  );
  assert.deepEqual(cfg.lan[1], { interface: 'dmz0', zone: 'dmz', routed: ['203.0.113.64/27'], via: ['isp1'] });
  assert.equal(cfg.firewall.forward.length, 2);
});

test('routed tables come from the top of our range, skipping uplink tables; uplink tables do not move', () => {
  const yaml = `uplinks:
  a: { interface: wan1 }
  b: { interface: wan2, table: 7363 }
lan:
  - { interface: dmz0, zone: dmz, routed: [192.0.2.0/28], via: [a] }
  - { interface: lan0, zone: lan }
  - { interface: dmz1, zone: dmz, routed: [192.0.2.16/28], via: [b] }
`;
  const cfg = parseConfigText(yaml, 'uplinkd.yaml');
  assert.deepEqual(
    [...routedTables(cfg)],
    [
      [0, 7362],
      [2, 7361],
    ],
  );
  const without = parseConfigText(yaml.replace(/lan:[\s\S]*/, ''), 'uplinkd.yaml');
  assert.deepEqual([...uplinkTables(cfg)], [...uplinkTables(without)]);
});

const ADDRS: IfAddr[] = [
  { ifname: 'wan1', family: 4, address: '198.51.100.2', prefixlen: 30 },
  { ifname: 'wan2', family: 4, address: '203.0.113.2', prefixlen: 30 },
  { ifname: 'lan0', family: 4, address: '10.66.0.1', prefixlen: 24 },
  { ifname: 'dmz0', family: 4, address: '192.0.2.65', prefixlen: 27 },
];

/** [name, lan entry keys (dmz0), firewall.forward, addresses beyond ADDRS, warnings (path: message start)]. */
const WARN: [string, string, string, IfAddr[], string[]][] = [
  [
    'the office as planned',
    'routed: [192.0.2.64/27], via: [isp1]',
    '[{ proto: tcp, port: 80, to: 192.0.2.70 }]',
    [],
    [],
  ],
  [
    "an uplink's current address inside the prefix (a DHCP lease)",
    'routed: [192.0.2.64/27], via: [isp1]',
    '[]',
    [{ ifname: 'wan3', family: 4, address: '192.0.2.77', prefixlen: 24 }],
    ["lan[1].routed[0]: uplink spare's address 192.0.2.77 is inside routed prefix 192.0.2.64/27"],
  ],
  [
    "another interface's network overlapping the prefix",
    'routed: [192.0.2.64/27], via: [isp1]',
    '[]',
    [{ ifname: 'eth9', family: 4, address: '192.0.2.1', prefixlen: 24 }],
    ['lan[1].routed[0]: routed prefix 192.0.2.64/27 overlaps 192.0.2.0/24 on eth9'],
  ],
  [
    'a firewall.forward to a masqueraded host',
    'routed: [192.0.2.64/27], via: [isp1]',
    '[{ proto: tcp, port: 80, to: 10.66.0.5 }, { proto: tcp, port: 81, to: 192.0.2.0/26 }, { proto: tcp, port: 82, to: "2001:db8::5" }]',
    [],
    [
      'firewall.forward[0].to: 10.66.0.5 is in no routed prefix',
      'firewall.forward[1].to: 192.0.2.0/26 is in no routed prefix',
    ],
  ],
];

for (const [name, keys, forward, extra, want] of WARN) {
  test(`routed warnings: ${name}`, () => {
    const cfg = parseConfigText(withLan(dmz(keys), `firewall: { forward: ${forward} }\n`), 'uplinkd.yaml');
    const got = configWarnings(cfg, [...ADDRS, ...extra], [])
      .map((w) => `${w.path}: ${w.message}`)
      .filter((w) => !w.startsWith('forwards'));
    assert.equal(got.length, want.length, got.join('\n'));
    want.forEach((w, i) => assert.ok(got[i]!.startsWith(w), `${got[i]} starts with ${w}`));
  });
}

test("docs/firewall.md: the dual-homed office's config validates as printed", () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/firewall.md', import.meta.url)), 'utf8');
  const section = doc.slice(doc.indexOf('## Routed public networks'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the section has a yaml block');
  const cfg = parseConfigText(yaml, 'firewall.md');
  assert.deepEqual(cfg.lan[1]?.routed, ['203.0.113.64/27']);
  assert.equal(cfg.firewall.forward.length, 7);
  assert.deepEqual(configWarnings(cfg, [], []), [], 'every firewall.forward target is in the routed block');
});
