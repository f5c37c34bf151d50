/** Config warnings: setups that validate but cannot work on these addresses (table-driven). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { configWarnings, type IfAddr } from '../../src/reconcile/warnings.js';

const ADDRS: IfAddr[] = [
  { ifname: 'wan1', family: 4, address: '198.51.100.2', prefixlen: 30 },
  { ifname: 'wan2', family: 4, address: '203.0.113.2', prefixlen: 30 },
  { ifname: 'wan1', family: 6, address: '2001:db8:1::2', prefixlen: 64 },
  { ifname: 'wan2', family: 6, address: '2001:db8:2::2', prefixlen: 64 },
  { ifname: 'lan0', family: 4, address: '10.66.0.1', prefixlen: 24 },
  { ifname: 'lan0', family: 6, address: '2001:db8:66::1', prefixlen: 64 },
  { ifname: 'lan0', family: 6, address: 'fe80::1', prefixlen: 64 },
];
const base = (extra: string) =>
  parseConfigText(
    `uplinks:\n  wan1: { interface: wan1 }\n  wan2: { interface: wan2, mode: backup }\nlan:\n  - { interface: lan0, zone: lan }\n${extra}`,
    't.yaml',
  );

const CASES: [string, string, string[], string[]][] = [
  ['a forward to a LAN host', 'forwards:\n  - { proto: tcp, port: 80, to: "10.66.0.5:80" }\n', [], []],
  [
    'a forward to no LAN network',
    'forwards:\n  - { proto: tcp, port: 80, to: "10.99.0.5:80" }\n',
    [],
    ["forwards[0].to: forward target 10.99.0.5 is in no LAN zone's network (lan0 10.66.0.1/24"],
  ],
  [
    "a forward to the gateway's own uplink address",
    'forwards:\n  - { proto: tcp, port: 80, to: 198.51.100.2 }\n',
    [],
    ["forwards[0].to: forward target 198.51.100.2 is the gateway's own address on uplink wan1"],
  ],
  ['an IPv6 forward to a LAN host', 'forwards:\n  - { proto: tcp, port: 80, to: "[2001:db8:66::5]:80" }\n', [], []],
  [
    'LAN IPv6 through an uplink whose prefix it is not',
    '',
    ['wan1', 'wan2'],
    [
      'uplinks.wan1: uplink wan1 carries IPv6 for lan0 (2001:db8:66::1/64), a prefix it does not route',
      'uplinks.wan2: uplink wan2 carries IPv6 for lan0 (2001:db8:66::1/64), a prefix it does not route',
    ],
  ],
  [
    'the prefix declared as routed by one ISP: only the other warns',
    '  wan1: { interface: wan1, ipv6_prefixes: ["2001:db8:66::/48"] }\n',
    ['wan2'],
    ['uplinks.wan2: uplink wan2 carries IPv6 for lan0 (2001:db8:66::1/64)'],
  ],
  ['an uplink not carrying IPv6', '', [], []],
];

for (const [name, extra, carriers, want] of CASES) {
  test(`config warnings: ${name}`, () => {
    // An uplinks line in `extra` replaces wan1's.
    const cfg = extra.startsWith('  wan1')
      ? parseConfigText(
          `uplinks:\n${extra}  wan2: { interface: wan2, mode: backup }\nlan:\n  - { interface: lan0, zone: lan }\n`,
          't.yaml',
        )
      : base(extra);
    const got = configWarnings(cfg, ADDRS, carriers).map((w) => `${w.path}: ${w.message}`);
    assert.equal(got.length, want.length, got.join('\n'));
    want.forEach((w, i) => assert.ok(got[i]!.startsWith(w), `${got[i]} starts with ${w}`));
  });
}

test('config warnings: thousands of bad forwards are listed 20 times and counted', () => {
  const many = Array.from(
    { length: 5000 },
    (_, i) => `  - { proto: tcp, port: ${i + 1}, to: "10.99.${i >> 8}.${i & 255}" }\n`,
  );
  const got = configWarnings(base(`forwards:\n${many.join('')}`), ADDRS, []);
  assert.equal(got.length, 21);
  assert.equal(got[20]!.message, 'and 4980 more forward(s) like these');
});
