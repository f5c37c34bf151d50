// RTM_NEWROUTE / RTM_DELROUTE requests: the rtmsg header and attributes the kernel reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attrs } from '../../src/system/netlink/codec.js';
import { routeRequest, ruleRequest } from '../../src/system/netlink/route-msg.js';
import type { RouteSpec } from '../../src/model/ops.js';

const base: RouteSpec = {
  family: 4,
  table: 7300,
  protocol: 201,
  type: 'unicast',
  dst: '0.0.0.0',
  dstLen: 0,
  metric: 100,
  gateway: '198.51.100.1',
  dev: 'wan0',
};
const decode = (b: Buffer) => ({
  len: b.readUInt32LE(0),
  type: b.readUInt16LE(4),
  flags: b.readUInt16LE(6),
  seq: b.readUInt32LE(8),
  family: b[16],
  dstLen: b[17],
  table: b[20],
  protocol: b[21],
  scope: b[22],
  rtype: b[23],
  attrs: Object.fromEntries(
    [...attrs(b, 28, b.length)].map(([t, o, l]) => [
      t,
      l === 4 && t !== 5 && t !== 1 ? b.readUInt32LE(o) : [...b.subarray(o, o + l)].join('.'),
    ]),
  ),
});

const cases: {
  name: string;
  op: 'add' | 'replace' | 'del';
  r: RouteSpec;
  oif?: number;
  want: Partial<ReturnType<typeof decode>>;
}[] = [
  {
    name: 'add: create exclusive, ack; table >255 only in RTA_TABLE; universe scope',
    op: 'add',
    r: base,
    oif: 7,
    want: {
      type: 24,
      flags: 0x1 | 0x4 | 0x400 | 0x200,
      family: 2,
      dstLen: 0,
      table: 0,
      protocol: 201,
      scope: 0,
      rtype: 1,
      attrs: { 15: 7300, 6: 100, 5: '198.51.100.1', 4: 7 },
    },
  },
  {
    name: 'replace: create + replace',
    op: 'replace',
    r: base,
    oif: 7,
    want: { flags: 0x1 | 0x4 | 0x400 | 0x100 },
  },
  {
    name: 'del: any scope, still our protocol (never a foreign route)',
    op: 'del',
    r: base,
    oif: 7,
    want: { type: 25, flags: 0x1 | 0x4, scope: 255, protocol: 201 },
  },
  {
    name: 'a device route without gateway (the demand proxy) is link scope',
    op: 'add',
    r: { ...base, gateway: undefined, dev: 'dod-x', metric: 1000 },
    oif: 9,
    want: { scope: 253, attrs: { 15: 7300, 6: 1000, 4: 9 } },
  },
  {
    name: 'unreachable, IPv6, small table in the header too',
    op: 'add',
    r: {
      ...base,
      family: 6,
      type: 'unreachable',
      dst: '::',
      gateway: undefined,
      dev: undefined,
      table: 200,
      metric: 4294967295,
    },
    want: { family: 10, table: 200, rtype: 7, scope: 0, attrs: { 15: 200, 6: 4294967295 } },
  },
];

for (const c of cases) {
  test(`route request: ${c.name}`, () => {
    const got = decode(routeRequest(c.op, c.r, c.oif, 42));
    assert.equal(got.len, routeRequest(c.op, c.r, c.oif, 42).length);
    assert.equal(got.seq, 42);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, k);
  });
}

test('route request: an IPv6 gateway in full, and a gateway of the wrong family is refused', () => {
  const b = routeRequest('add', { ...base, family: 6, dst: '::', gateway: 'fe80::1' }, 3, 1);
  const gw = [...attrs(b, 28, b.length)].find(([t]) => t === 5)!;
  assert.deepEqual([...b.subarray(gw[1], gw[1] + gw[2])], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(() => routeRequest('add', { ...base, gateway: 'fe80::1' }, 3, 1), /not IPv4/);
});

test('route request: a prefix route carries RTA_DST', () => {
  const b = routeRequest('add', { ...base, dst: '10.1.0.0', dstLen: 16 }, 3, 1);
  assert.equal(b[17], 16);
  assert.equal(decode(b).attrs[1], '10.1.0.0');
});

test('rule request: add with source, our protocol, table >255 only in FRA_TABLE', () => {
  const b = ruleRequest('add', { family: 4, priority: 7310, table: 7301, protocol: 201, src: '198.51.100.2' }, 5);
  assert.deepEqual(
    [b.readUInt16LE(4), b.readUInt16LE(6), b[16], b[18], b[20], b[23]],
    [32, 0x1 | 0x4 | 0x400 | 0x200, 2, 32, 0, 1],
  );
  const a = Object.fromEntries(
    [...attrs(b, 28, b.length)].map(([t, o, l]) => [
      t,
      l === 4 && t !== 2 ? b.readUInt32LE(o) : [...b.subarray(o, o + l)].join('.'),
    ]),
  );
  assert.deepEqual(a, { 6: 7310, 15: 7301, 21: '201', 2: '198.51.100.2' });
});

test('rule request: delete by fwmark/mask and suppress_prefixlength, IPv6', () => {
  const del = ruleRequest(
    'del',
    { family: 6, priority: 7350, table: 7301, protocol: 201, fwmark: 0x10000, fwmask: 0xff0000 },
    6,
  );
  assert.deepEqual([del.readUInt16LE(4), del.readUInt16LE(6), del[16]], [33, 0x1 | 0x4, 10]);
  const a = Object.fromEntries(
    [...attrs(del, 28, del.length)].map(([t, o, l]) => [t, l === 4 ? del.readUInt32LE(o) : del[o]]),
  );
  assert.deepEqual(a, { 6: 7350, 15: 7301, 21: 201, 10: 0x10000, 16: 0xff0000 });
  const sup = ruleRequest('add', { family: 4, priority: 7300, table: 254, protocol: 201, suppressPrefixlen: 0 }, 7);
  assert.equal(sup[20], 254, 'the main table fits the header');
  assert.ok([...attrs(sup, 28, sup.length)].some(([t, o]) => t === 14 && sup.readUInt32LE(o) === 0));
});
