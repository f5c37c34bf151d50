import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as C from '../../src/system/netlink/constants.js';
import {
  nftTableOf,
  dumpRequest,
  formatIp,
  messages,
  nlAttr,
  nlHeader,
  type NlMessage,
  parseAddr,
  parseLink,
  parseRoute,
  routeHeader,
} from '../../src/system/netlink/codec.js';
import { parseFibTriestat } from '../../src/system/fib-triestat.js';
import { isStoredRoute } from '../../src/model/kernel.js';

/** Test-side encoder: a netlink message with a fixed header body and attributes. */
function msg(type: number, body: Buffer, attrs: [number, Buffer][], flags = 0): Buffer {
  const parts = attrs.map(([t, v]) => {
    const len = 4 + v.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(t, 2);
    v.copy(b, 4);
    return b;
  });
  const payload = Buffer.concat([body, ...parts]);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + payload.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  return Buffer.concat([h, payload]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
const str = (s: string) => Buffer.from(`${s}\0`);

function rtmsg(family: number, dstLen: number, table: number, protocol: number, type: number, flags = 0): Buffer {
  const b = Buffer.alloc(12);
  b[0] = family;
  b[1] = dstLen;
  b[4] = table;
  b[5] = protocol;
  b[7] = type;
  b.writeUInt32LE(flags, 8);
  return b;
}

test('formatIp: IPv4 and RFC 5952 IPv6', () => {
  const cases: [number[], string][] = [
    [[192, 0, 2, 1], '192.0.2.1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], 'fe80::1:0:0:1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0x20, 0x01, 0, 0x1, 0, 0, 0, 0x1, 0, 0, 0, 0, 0, 0, 0, 0x1], '2001:1:0:1::1'],
  ];
  for (const [bytes, want] of cases) assert.equal(formatIp(Buffer.from(bytes), 0, bytes.length), want);
});

test('parseLink reads name, flags, carrier and mtu', () => {
  const body = Buffer.alloc(16);
  body.writeInt32LE(7, 4);
  body.writeUInt32LE(C.IFF_UP | C.IFF_LOWER_UP, 8);
  const buf = msg(C.RTM_NEWLINK, body, [
    [C.IFLA_IFNAME, str('wan1')],
    [C.IFLA_MTU, u32(1492)],
    [C.IFLA_OPERSTATE, Buffer.from([6])],
  ]);
  const [m] = [...messages(buf)];
  assert.deepEqual(parseLink(m), { index: 7, name: 'wan1', up: true, carrier: true, operstate: 'up', mtu: 1492 });
});

test('parseAddr: IFA_LOCAL is the address, a differing IFA_ADDRESS is the peer', () => {
  const body = Buffer.from([C.AF_INET, 32, 0, 0, 3, 0, 0, 0]);
  const buf = msg(C.RTM_NEWADDR, body, [
    [C.IFA_ADDRESS, ip4('10.0.0.1')],
    [C.IFA_LOCAL, ip4('10.0.0.2')],
    [C.IFA_LABEL, str('ppp0')],
  ]);
  const a = parseAddr([...messages(buf)][0]);
  assert.deepEqual(a, {
    family: 4,
    prefixlen: 32,
    scope: 0,
    index: 3,
    address: '10.0.0.2',
    peer: '10.0.0.1',
    label: 'ppp0',
  });
});

test('parseRoute and routeHeader: tables above 255 come from RTA_TABLE', () => {
  const buf = msg(C.RTM_NEWROUTE, rtmsg(C.AF_INET, 0, 252, 201, 1, C.RTNH_F_LINKDOWN), [
    [C.RTA_TABLE, u32(7301)],
    [C.RTA_GATEWAY, ip4('198.51.100.1')],
    [C.RTA_OIF, u32(4)],
    [C.RTA_PRIORITY, u32(10)],
  ]);
  const m = [...messages(buf)][0];
  assert.deepEqual(routeHeader(m), { family: 4, dstLen: 0, table: 7301, protocol: 201 });
  assert.deepEqual(parseRoute(m), {
    family: 4,
    dstLen: 0,
    table: 7301,
    protocol: 201,
    type: 'unicast',
    dst: '0.0.0.0',
    metric: 10,
    linkdown: true,
    gateway: '198.51.100.1',
    oif: 4,
  });
});

test('messages() walks several messages and stops at a truncated one without throwing', () => {
  const a = msg(C.RTM_NEWROUTE, rtmsg(C.AF_INET, 24, 100, 4, 1), [[C.RTA_DST, ip4('10.1.2.0')]]);
  const b = msg(C.RTM_DELROUTE, rtmsg(C.AF_INET, 24, 100, 4, 1), [[C.RTA_DST, ip4('10.1.3.0')]]);
  const all = Buffer.concat([a, b]);
  assert.deepEqual(
    [...messages(all)].map((m) => m.type),
    [C.RTM_NEWROUTE, C.RTM_DELROUTE],
  );
  assert.equal([...messages(all.subarray(0, all.length - 3))].length, 1);
  const bad = Buffer.from(a);
  bad.writeUInt16LE(200, 16 + 12); // attribute length beyond the message
  assert.equal(parseRoute([...messages(bad)][0])?.dst, '0.0.0.0');
});

test('dumpRequest carries the kernel-side table filter', () => {
  const b = dumpRequest({ type: C.RTM_GETROUTE, family: C.AF_INET, table: 7301 }, 9);
  assert.equal(b.readUInt32LE(0), b.length);
  assert.equal(b.readUInt16LE(6), C.NLM_F_REQUEST | C.NLM_F_DUMP);
  assert.equal(b[20], 252);
  assert.equal(b.readUInt16LE(30), C.RTA_TABLE);
  assert.equal(b.readUInt32LE(32), 7301);
  const p = dumpRequest({ type: C.RTM_GETROUTE, family: C.AF_INET6, protocol: 201 }, 10);
  assert.equal(p.length, 28);
  assert.equal(p[21], 201);
});

test('isStoredRoute: ours, our tables and main defaults are stored; the rest is counted', () => {
  const f = { protocol: 201, tableBase: 7300, tableCount: 64, rulePriorityBase: 7300, rulePriorityCount: 100 };
  const cases: [{ table: number; protocol: number; dstLen: number }, boolean][] = [
    [{ table: 254, protocol: 3, dstLen: 0 }, true],
    [{ table: 254, protocol: 186, dstLen: 24 }, false],
    [{ table: 100, protocol: 3, dstLen: 0 }, false],
    [{ table: 7300, protocol: 3, dstLen: 24 }, true],
    [{ table: 7363, protocol: 3, dstLen: 24 }, true],
    [{ table: 7364, protocol: 3, dstLen: 24 }, false],
    [{ table: 100, protocol: 201, dstLen: 24 }, true],
  ];
  for (const [r, want] of cases) assert.equal(isStoredRoute(r, f), want, JSON.stringify(r));
});

test('parseFibTriestat reads per-table prefix counts', () => {
  const text =
    'Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\nId 100:\n\tAver depth:     1.00\n\tLeaves:         2\n\tPrefixes:       2\nMain:\n\tPrefixes:       5\nLocal:\n\tPrefixes:       7\n';
  assert.deepEqual(parseFibTriestat(text), { '100': 2, '254': 5, '255': 7 });
  assert.deepEqual(parseFibTriestat(''), {});
});

test('nftTableOf: the table of each nf_tables change message; none for a batch end or another subsystem', () => {
  const msg = (type: number, ...attrs: Buffer[]) => {
    const body = Buffer.concat([Buffer.from([1, 0, 0, 0]), ...attrs]); // nfgenmsg: family inet
    const buf = nlHeader(16 + body.length, type, 0, 1); // the whole message, body zeroed
    body.copy(buf, 16);
    return [...messages(buf)][0]!;
  };
  const name = (s: string) => nlAttr(C.NFTA_TABLE_NAME, Buffer.from(`${s}\0`));
  const other = nlAttr(3, Buffer.from([0, 0, 0, 7])); // e.g. a handle before the name: order is free
  const NFT = C.NFNL_SUBSYS_NFTABLES << 8;
  const cases: [string, NlMessage, string | undefined][] = [
    ['NEWTABLE', msg(NFT | 0, name('uplinkd')), 'uplinkd'],
    ['DELTABLE (nft flush ruleset)', msg(NFT | 2, name('uplinkd')), 'uplinkd'],
    ['NEWRULE of a foreign table, attribute after another', msg(NFT | 6, other, name('filter')), 'filter'],
    ['NEWSETELEM', msg(NFT | 12, name('uplinkd'), other), 'uplinkd'],
    ['NEWGEN (end of a batch): no table', msg(NFT | 15, other), undefined],
    ['a conntrack message (another subsystem)', msg((1 << 8) | 0, name('uplinkd')), undefined],
    ['no attributes', msg(NFT | 0), undefined],
  ];
  for (const [what, m, want] of cases) assert.equal(nftTableOf(m), want, what);
});
