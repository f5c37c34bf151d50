// The demand rule language: parsing (and the column + hint of every refusal), canonical
// text, matching packets, and the shipped default rules.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PacketInfo } from '../../src/demand/packet.js';
import {
  DEFAULT_RULES,
  describeRule,
  parseRule,
  parseRules,
  RuleError,
  type DemandRule,
} from '../../src/config/demand-rules.js';
import { dials, firstMatch, keeps, matches } from '../../src/demand/rules.js';

type Parsed = Omit<DemandRule, 'text'>;

const GOOD: [string, Parsed, string][] = [
  ['accept any', { action: 'accept', proto: 'any' }, 'accept any'],
  ['accept', { action: 'accept', proto: 'any' }, 'accept any'],
  ['ignore udp port 123', { action: 'ignore', proto: 'udp', port: { first: 123, last: 123 } }, 'ignore udp port 123'],
  ['accept tcp syn 30s', { action: 'accept', proto: 'tcp', syn: true, timeoutMs: 30_000 }, 'accept tcp syn 30s'],
  ['keepup tcp fin 5s', { action: 'keepup', proto: 'tcp', fin: true, timeoutMs: 5000 }, 'keepup tcp fin 5s'],
  ['bringup icmp out', { action: 'bringup', proto: 'icmp', direction: 'out' }, 'bringup icmp out'],
  [
    '  accept   udp  dport 5000-5010   1m30s ',
    { action: 'accept', proto: 'udp', dport: { first: 5000, last: 5010 }, timeoutMs: 90_000 },
    'accept udp dport 5000-5010 1m30s',
  ],
  [
    'keepup tcp sport 443 in 0',
    { action: 'keepup', proto: 'tcp', sport: { first: 443, last: 443 }, direction: 'in', timeoutMs: 0 },
    'keepup tcp in sport 443 0s',
  ],
  ['accept host 192.0.2.1', { action: 'accept', proto: 'any', host: '192.0.2.1/32' }, 'accept host 192.0.2.1'],
  [
    'accept from 10.1.2.3/8 to 0.0.0.0/0 500ms',
    { action: 'accept', proto: 'any', from: '10.0.0.0/8', to: '0.0.0.0/0', timeoutMs: 500 },
    'accept from 10.0.0.0/8 to 0.0.0.0/0 500ms',
  ],
  [
    'accept tcp dport 80 syn port 1-65535 to 198.51.100.0/24 out',
    {
      action: 'accept',
      proto: 'tcp',
      dport: { first: 80, last: 80 },
      syn: true,
      port: { first: 1, last: 65535 },
      to: '198.51.100.0/24',
      direction: 'out',
    },
    'accept tcp out syn port 1-65535 dport 80 to 198.51.100.0/24',
  ],
];
for (const [text, want, canonical] of GOOD) {
  test(`rule ${JSON.stringify(text)}`, () => {
    const r = parseRule(text);
    assert.deepEqual(r, { text, ...want });
    assert.equal(describeRule(r), canonical);
    const again = parseRule(canonical);
    assert.deepEqual({ ...again, text }, r, 'the canonical text parses back to the same rule');
  });
}

// [rule, column, message, start of the hint]
const BAD: [string, number, string, string][] = [
  ['', 1, 'empty rule', 'write e.g.'],
  ['acept any', 1, 'unknown action "acept"', 'did you mean "accept"?'],
  ['Accept any', 1, 'unknown action "Accept"', 'write "accept" (rules are lowercase)'],
  ['drop any', 1, 'unknown action "drop"', 'actions: accept, bringup, keepup, ignore'],
  [
    'tcp port 80',
    1,
    'unknown action "tcp"',
    'a rule starts with accept, bringup, keepup or ignore, e.g. "accept tcp port 80"',
  ],
  ['accept tpc', 8, 'unknown word "tpc"', 'did you mean "tcp"?'],
  ['accept tcp dprot 80', 12, 'unknown word "dprot"', 'did you mean "dport"?'],
  ['accept TCP', 8, 'unknown word "TCP"', 'write "tcp" (rules are lowercase)'],
  ['accept port 80 tcp', 16, 'the protocol comes right after the action', 'write "accept tcp port 80"'],
  ['accept tcp port 80 udp', 20, 'a second protocol "udp"', 'a rule names one protocol'],
  ['accept port 80', 8, '"port" needs tcp or udp', 'write "accept tcp port 80" or "accept udp port 80"'],
  ['accept any dport 80', 12, '"dport" needs tcp or udp', 'write "accept tcp dport 80" or "accept udp dport 80"'],
  ['accept icmp port 80', 13, 'icmp has no ports', 'ports need tcp or udp'],
  ['accept udp syn', 12, '"syn" needs tcp', 'write "accept tcp syn"'],
  ['keepup fin', 8, '"fin" needs tcp', 'write "keepup tcp fin"'],
  ['accept tcp syn fin', 16, 'syn and fin exclude each other', 'a new connection'],
  ['accept tcp port', 12, '"port" needs a value', 'e.g. port 80 or port 8000-8100'],
  ['accept tcp port http', 17, '"http" is not a port', 'a port is a number'],
  ['accept tcp port 0', 17, 'port 0 is out of range', 'ports are 1-65535'],
  ['accept tcp port 1-65536', 17, 'port 65536 is out of range', 'ports are 1-65535'],
  ['accept tcp port 200-100', 17, '"200-100" is a backwards range', 'write 100-200'],
  ['accept tcp port 80 port 443', 20, '"port" given twice', 'each matcher may appear once per rule'],
  ['accept host example.com', 13, '"example.com" is not an IPv4 address or network', 'write an address like 192.0.2.1'],
  [
    'accept host 2001:db8::1',
    13,
    '"2001:db8::1" is not an IPv4 address or network',
    'demand rules see IPv4 packets only',
  ],
  ['accept to 10.0.0.256', 11, '"10.0.0.256" is not an IPv4 address', 'each part is 0-255'],
  ['accept to 10.0.0.0/33', 11, '"/33" is not an IPv4 prefix length', 'a prefix length is 0-32'],
  ['accept from 010.1.2.3', 13, '"010.1.2.3" has a part with a leading zero', 'write 10.1.2.3'],
  ['accept 192.0.2.1', 8, '"192.0.2.1" needs host, from or to before it', 'write "host 192.0.2.1"'],
  ['accept in out', 11, '"out" contradicts "in"', 'leave the direction out'],
  ['accept out out', 12, '"out" given twice', 'each matcher'],
  ['accept tcp 30s syn', 12, 'the timeout comes last', 'write "accept tcp syn 30s"'],
  ['accept tcp 30 sec', 12, '"30 sec" is not a duration', 'write 30s'],
  ['accept tcp 30', 12, '"30" is not a duration', 'durations need a unit: write 30s'],
  ['accept tcp 5x', 12, '"5x" is not a duration', 'use ms, s, m, h or d'],
  ['ignore udp port 123 10s', 21, 'ignore takes no timeout', 'ignored packets hold nothing'],
  ['bringup tcp syn 10s', 17, 'bringup takes no timeout', 'bringup only dials'],
];
for (const [text, column, message, hint] of BAD) {
  test(`refused: ${JSON.stringify(text)} at column ${column}`, () => {
    assert.throws(
      () => parseRule(text),
      (e: unknown) => {
        assert.ok(e instanceof RuleError);
        assert.equal(e.message, message);
        assert.equal(e.column, column);
        assert.ok(e.hint.startsWith(hint), e.hint);
        return true;
      },
    );
  });
}

test('parseRules collects every error with its index and keeps the good rules', () => {
  const { rules, errors } = parseRules(['accept tcp syn 30s', 'acept any', 'accept any', 'ignore udp port 70000']);
  assert.deepEqual(
    rules.map((r) => r.text),
    ['accept tcp syn 30s', 'accept any'],
  );
  assert.deepEqual(
    errors.map((e) => [e.index, e.error.column, e.error.message]),
    [
      [1, 1, 'unknown action "acept"'],
      [3, 17, 'port 70000 is out of range'],
    ],
  );
});

test('dials and keeps', () => {
  assert.deepEqual(
    (['accept', 'bringup', 'keepup', 'ignore'] as const).map((a) => [a, dials(a), keeps(a)]),
    [
      ['accept', true, true],
      ['bringup', true, false],
      ['keepup', false, true],
      ['ignore', false, false],
    ],
  );
});

const pkt = (o: Partial<PacketInfo>): PacketInfo => ({
  family: 4,
  proto: 'udp',
  src: '10.66.0.2',
  dst: '192.0.2.100',
  length: 64,
  ...o,
});
const tcpPkt = (
  sport: number,
  dport: number,
  f: Partial<NonNullable<PacketInfo['tcpFlags']>> = {},
  o: Partial<PacketInfo> = {},
) => pkt({ proto: 'tcp', sport, dport, tcpFlags: { syn: false, ack: true, fin: false, rst: false, ...f }, ...o });

const MATCHES: [string, PacketInfo, 'in' | 'out', boolean][] = [
  ['accept any', pkt({ proto: 47 }), 'out', true],
  ['accept udp', pkt({ sport: 1, dport: 2 }), 'in', true],
  ['accept udp', tcpPkt(1, 2), 'out', false],
  ['accept icmp', pkt({ proto: 'icmp', icmpType: 8 }), 'out', true],
  ['accept out', pkt({}), 'out', true],
  ['accept out', pkt({}), 'in', false],
  ['accept in', pkt({}), 'in', true],
  ['accept udp port 53', pkt({ sport: 40000, dport: 53 }), 'out', true],
  ['accept udp port 53', pkt({ sport: 53, dport: 40000 }), 'in', true],
  ['accept udp port 53', pkt({ sport: 40000, dport: 54 }), 'out', false],
  ['accept udp port 53', pkt({}), 'out', false], // a later fragment: no ports
  ['accept udp sport 53', pkt({ sport: 40000, dport: 53 }), 'out', false],
  ['accept udp dport 5000-5010', pkt({ sport: 1, dport: 5000 }), 'out', true],
  ['accept udp dport 5000-5010', pkt({ sport: 1, dport: 5010 }), 'out', true],
  ['accept udp dport 5000-5010', pkt({ sport: 1, dport: 5011 }), 'out', false],
  ['accept udp dport 5000-5010', pkt({ sport: 1, dport: 4999 }), 'out', false],
  ['accept tcp syn', tcpPkt(40000, 80, { syn: true, ack: false }), 'out', true],
  ['accept tcp syn', tcpPkt(80, 40000, { syn: true, ack: true }), 'in', false],
  ['accept tcp syn', tcpPkt(40000, 80), 'out', false],
  ['accept tcp fin', tcpPkt(40000, 80, { fin: true }), 'out', true],
  ['accept tcp fin', tcpPkt(40000, 80, { rst: true, ack: false }), 'out', true],
  ['accept tcp fin', tcpPkt(40000, 80), 'out', false],
  ['accept tcp fin', pkt({ proto: 'tcp' }), 'out', false], // a later fragment: no flags
  ['accept from 10.0.0.0/8', pkt({ src: '10.255.255.255' }), 'out', true],
  ['accept from 10.0.0.0/8', pkt({ src: '11.0.0.0' }), 'out', false],
  ['accept from 10.0.0.0/8', pkt({ src: '9.255.255.255' }), 'out', false],
  ['accept to 192.0.2.100', pkt({}), 'out', true],
  ['accept to 192.0.2.100', pkt({ dst: '192.0.2.101' }), 'out', false],
  ['accept to 0.0.0.0/0', pkt({ dst: '255.255.255.255' }), 'out', true],
  ['accept to 128.0.0.0/1', pkt({ dst: '200.1.1.1' }), 'out', true], // the top bit: signed 32-bit math would miss it
  ['accept to 128.0.0.0/1', pkt({ dst: '127.255.255.255' }), 'out', false],
  ['accept from 255.255.255.254/31', pkt({ src: '255.255.255.255' }), 'out', true],
  ['accept host 192.0.2.0/24', pkt({}), 'out', true],
  ['accept host 192.0.2.0/24', pkt({ src: '192.0.2.7', dst: '10.66.0.2' }), 'in', true],
  ['accept host 192.0.2.0/24', pkt({ dst: '198.51.100.1' }), 'out', false],
  ['accept tcp out syn dport 80 to 192.0.2.0/24', tcpPkt(40000, 80, { syn: true, ack: false }), 'out', true],
  ['accept tcp out syn dport 80 to 192.0.2.0/24', tcpPkt(40000, 80, { syn: true, ack: false }), 'in', false],
  ['accept tcp out syn dport 80 to 192.0.2.0/24', tcpPkt(40000, 81, { syn: true, ack: false }), 'out', false],
];
for (const [text, p, dir, want] of MATCHES) {
  test(`${text} ${want ? 'matches' : 'does not match'} ${p.proto} ${p.src}:${p.sport} → ${p.dst}:${p.dport} ${dir}`, () => {
    assert.equal(matches(parseRule(text), p, dir), want);
  });
}

test('the default rules all parse, and parse back from their canonical text', () => {
  const { rules, errors } = parseRules(DEFAULT_RULES);
  assert.deepEqual(errors, []);
  for (const r of rules) assert.equal(describeRule(r), r.text);
  assert.equal(DEFAULT_RULES.at(-1), 'accept any', 'the catch-all comes last');
});

const rules = parseRules(DEFAULT_RULES).rules;
const DEFAULTS: [string, PacketInfo, 'in' | 'out', string, boolean, boolean, number | undefined][] = [
  // [what, packet, direction, rule that decides, dials, keeps, hold ms (undefined: idle)]
  ['NTP is ignored', pkt({ sport: 123, dport: 123 }), 'out', 'ignore udp port 123', false, false, undefined],
  [
    'NetBIOS broadcasts are ignored',
    pkt({ sport: 138, dport: 138, dst: '10.66.0.255' }),
    'out',
    'ignore udp port 137-138',
    false,
    false,
    undefined,
  ],
  ['a DNS query dials briefly', pkt({ sport: 40000, dport: 53 }), 'out', 'accept udp port 53 10s', true, true, 10_000],
  [
    'a TCP SYN to port 80 dials with a short hold',
    tcpPkt(40000, 80, { syn: true, ack: false }),
    'out',
    'accept tcp syn 30s',
    true,
    true,
    30_000,
  ],
  [
    'a closing connection only keeps up, briefly',
    tcpPkt(40000, 80, { fin: true }),
    'out',
    'keepup tcp fin 5s',
    false,
    true,
    5000,
  ],
  ['a reset too', tcpPkt(80, 40000, { rst: true }), 'in', 'keepup tcp fin 5s', false, true, 5000],
  ['established TCP holds for idle', tcpPkt(40000, 80), 'out', 'accept tcp', true, true, undefined],
  [
    'UDP to port 7000 falls through to accept any',
    pkt({ sport: 5000, dport: 7000 }),
    'out',
    'accept any',
    true,
    true,
    undefined,
  ],
  ['a ping too', pkt({ proto: 'icmp', icmpType: 8 }), 'out', 'accept any', true, true, undefined],
];
for (const [what, p, dir, rule, dial, keep, hold] of DEFAULTS) {
  test(`default rules: ${what}`, () => {
    const r = firstMatch(rules, p, dir);
    assert.equal(r?.text, rule);
    assert.deepEqual([dials(r!.action), keeps(r!.action), r!.timeoutMs], [dial, keep, hold]);
  });
}

test('firstMatch: the first matching rule wins; none matching gives undefined', () => {
  const rs = parseRules(['ignore udp dport 7000', 'accept udp 1m', 'accept any']).rules;
  assert.equal(firstMatch(rs, pkt({ sport: 1, dport: 7000 }), 'out')?.text, 'ignore udp dport 7000');
  assert.equal(firstMatch(rs, pkt({ sport: 1, dport: 7001 }), 'out')?.text, 'accept udp 1m');
  assert.equal(firstMatch(rs.slice(0, 2), tcpPkt(1, 2), 'out'), undefined);
});
