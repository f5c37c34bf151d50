// Demand rules compiled to libnftables JSON match statements: literal expectations, in the
// shapes `nft -j list` prints on nftables 1.0.6 (checked by hand in a throwaway netns).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ruleMatches } from '../../src/demand/nft-match.js';
import { DEFAULT_RULES, parseRule } from '../../src/config/demand-rules.js';

const m = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
const l4proto = (p: string) => m({ meta: { key: 'l4proto' } }, p);
const field = (protocol: string, f: string) => ({ payload: { protocol, field: f } });
const SYN = m({ '&': [field('tcp', 'flags'), ['syn', 'ack']] }, 'syn');
const FIN = m(field('tcp', 'flags'), ['fin', 'rst'], 'in');

const CASES: [string, unknown[][]][] = [
  ['accept any', [[]]],
  ['accept any 30s', [[]]],
  ['accept out', [[]]], // direction is the caller's
  ['accept tcp', [[l4proto('tcp')]]],
  ['accept icmp', [[l4proto('icmp')]]],
  // `udp dport` implies the protocol: nft adds the dependency and leaves it out of listings.
  ['ignore udp dport 123', [[m(field('udp', 'dport'), 123)]]],
  ['accept tcp sport 8000-8100', [[m(field('tcp', 'sport'), { range: [8000, 8100] })]]],
  [
    'ignore udp port 137-138',
    [[m(field('udp', 'sport'), { range: [137, 138] })], [m(field('udp', 'dport'), { range: [137, 138] })]],
  ],
  ['accept tcp syn 30s', [[SYN]]],
  ['keepup tcp fin 5s', [[FIN]]],
  ['accept tcp from 10.0.0.0/8', [[l4proto('tcp'), m(field('ip', 'saddr'), { prefix: { addr: '10.0.0.0', len: 8 } })]]],
  ['accept to 192.0.2.1', [[m(field('ip', 'daddr'), '192.0.2.1')]]],
  ['accept from 0.0.0.0/0 host 0.0.0.0/0', [[]]], // /0 matches every IPv4 packet
  [
    'accept host 192.0.2.0/24',
    [
      [m(field('ip', 'saddr'), { prefix: { addr: '192.0.2.0', len: 24 } })],
      [m(field('ip', 'daddr'), { prefix: { addr: '192.0.2.0', len: 24 } })],
    ],
  ],
  [
    'accept tcp syn dport 443 to 198.51.100.7',
    [[m(field('ip', 'daddr'), '198.51.100.7'), m(field('tcp', 'dport'), 443), SYN]],
  ],
  // Either end of the host and either end of the port: four alternatives.
  [
    'accept udp host 192.0.2.1 port 53',
    [
      [m(field('ip', 'saddr'), '192.0.2.1'), m(field('udp', 'sport'), 53)],
      [m(field('ip', 'saddr'), '192.0.2.1'), m(field('udp', 'dport'), 53)],
      [m(field('ip', 'daddr'), '192.0.2.1'), m(field('udp', 'sport'), 53)],
      [m(field('ip', 'daddr'), '192.0.2.1'), m(field('udp', 'dport'), 53)],
    ],
  ],
];
for (const [text, want] of CASES) {
  test(`nft match for ${JSON.stringify(text)}`, () => assert.deepEqual(ruleMatches(parseRule(text)), want));
}

test('every default rule compiles to at least one alternative', () => {
  for (const text of DEFAULT_RULES) assert.ok(ruleMatches(parseRule(text)).length >= 1, text);
});

test('a hand-made rule the parser would refuse is a programming error, not a silent match-all', () => {
  assert.throws(
    () => ruleMatches({ text: 'x', action: 'accept', proto: 'any', dport: { first: 80, last: 80 } }),
    /ports need tcp or udp/,
  );
  assert.throws(() => ruleMatches({ text: 'x', action: 'accept', proto: 'udp', syn: true }), /syn and fin need tcp/);
});
