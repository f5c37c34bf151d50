/** Link-local probe targets get the interface scope; the router solicitation's bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLinkLocal6, scopedTarget } from '../../src/model/probe-target.js';
import { canonicalIp } from '../../src/model/ip.js';
import { solicitation } from '../../src/system/router-solicit.js';

const cases: [method: string, target: string, want: string | undefined][] = [
  ['icmp', 'fe80::1', 'fe80::1%wan1'],
  ['icmp', 'FE80::abcd', 'FE80::abcd%wan1'],
  ['icmp', 'febf::1', 'febf::1%wan1'],
  ['icmp', 'fec0::1', undefined],
  ['icmp', '2001:db8::1', undefined],
  ['icmp', '198.51.100.1', undefined],
  ['icmp', 'fe80::1%eth9', undefined],
  ['dns', '[fe80::1]:53', '[fe80::1%wan1]:53'],
  ['tcp', '[fe80::1]:443', '[fe80::1%wan1]:443'],
  ['tcp', '[2001:db8::1]:443', undefined],
  ['http', 'http://[fe80::1]/', undefined],
];
for (const [method, target, want] of cases) {
  test(`scopedTarget: ${method} ${target} → ${want ?? 'as is'}`, () => {
    assert.equal(scopedTarget(method, target, 'wan1'), want);
  });
}

test('isLinkLocal6: fe80::/10 only', () => {
  assert.ok(isLinkLocal6('fe80::1'));
  assert.ok(!isLinkLocal6('fe00::1'));
  assert.ok(!isLinkLocal6('fe8::1'), 'fe8::/16 is not fe80::/10');
  assert.ok(isLinkLocal6('fe9a::1'), 'fe80::/10 runs to febf');
  assert.ok(!isLinkLocal6('169.254.1.1'));
});

test("canonicalIp: the kernel's form of a configured IPv6 address", () => {
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'one zero group stays');
  assert.equal(canonicalIp('FE80::1'), 'fe80::1');
  assert.equal(canonicalIp('198.51.100.1'), '198.51.100.1');
});

test('solicitation: type 133, code 0, and the source link-layer address option when there is a MAC', () => {
  assert.deepEqual([...solicitation()], [133, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    [...solicitation('02:00:5e:10:00:01')],
    [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01],
  );
  assert.equal(solicitation('not a mac').length, 8);
});
