/** Reading a demand connection set back: the same keys whether or not /etc/protocols exists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetElements } from '../../src/system/nft.js';

const listing = (proto: unknown, type: unknown = ['ipv4_addr', 'ipv4_addr', 'inet_proto']) => ({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    {
      set: {
        family: 'inet',
        name: 'demand_dsl',
        table: 'uplinkd',
        type,
        elem: [{ elem: { val: { concat: ['10.66.0.2', '192.0.2.100', proto] }, timeout: 30, expires: 29.5 } }],
      },
    },
  ],
});

const CASES: [string, unknown, string][] = [
  ['udp by name (with /etc/protocols)', 'udp', '10.66.0.2 . 192.0.2.100 . udp'],
  ['udp by number (no /etc/protocols)', 17, '10.66.0.2 . 192.0.2.100 . udp'],
  ['tcp by number', 6, '10.66.0.2 . 192.0.2.100 . tcp'],
  ['icmp by number', 1, '10.66.0.2 . 192.0.2.100 . icmp'],
  ['a protocol nft only knows from the file stays a number', 47, '10.66.0.2 . 192.0.2.100 . 47'],
  ['named by the file', 'gre', '10.66.0.2 . 192.0.2.100 . gre'],
];

for (const [name, proto, key] of CASES) {
  test(`set elements: ${name}`, () => {
    assert.deepEqual(parseSetElements(listing(proto)), [{ key, expiresMs: 29500 }]);
  });
}

test('set elements: a number in a field that is not a protocol stays a number', () => {
  assert.deepEqual(parseSetElements(listing(17, ['ipv4_addr', 'ipv4_addr', 'inet_service'])), [
    { key: '10.66.0.2 . 192.0.2.100 . 17', expiresMs: 29500 },
  ]);
  assert.deepEqual(parseSetElements({ nftables: [{ set: { type: 'inet_proto', elem: [6, 17] } }] }), [
    { key: 'tcp' },
    { key: 'udp' },
  ]);
  assert.deepEqual(parseSetElements({ nftables: [] }), []);
});
