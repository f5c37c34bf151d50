// The ctnetlink codec: entries parsed from the kernel's layout, deletes naming one entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messages, nlAttr } from '../../src/system/netlink/codec.js';
import { NLA_F_NESTED, NLM_F_MULTI, NLMSG_HDRLEN } from '../../src/system/netlink/constants.js';
import {
  CTA,
  ctDeleteRequest,
  ctDumpRequest,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_GET,
  IPCTNL_MSG_CT_NEW,
  nfHeader,
  parseCtEntry,
  pinnedTo,
  reroutedFrom,
} from '../../src/system/conntrack/codec.js';

/** A CT_NEW message for one IPv4 flow, laid out as the kernel sends it in a dump. */
function encodeCtEntry(o: {
  src: string;
  dst: string;
  replySrc: string;
  replyDst: string;
  zone?: number;
  proto?: number;
}): Buffer {
  const ip4 = (a: string) => Buffer.from(a.split('.').map(Number));
  // The protocol attribute as the kernel nests it: CTA_TUPLE_PROTO { CTA_PROTO_NUM u8, ports… }.
  const proto =
    o.proto === undefined
      ? []
      : [nlAttr(CTA.TUPLE_PROTO | NLA_F_NESTED, nlAttr(CTA.PROTO_NUM, Buffer.from([o.proto])))];
  const tuple = (type: number, s: string, d: string) =>
    nlAttr(
      type | NLA_F_NESTED,
      Buffer.concat([
        nlAttr(
          CTA.TUPLE_IP | NLA_F_NESTED,
          Buffer.concat([nlAttr(CTA.IP_V4_SRC, ip4(s)), nlAttr(CTA.IP_V4_DST, ip4(d))]),
        ),
        ...proto,
      ]),
    );
  const zone = o.zone === undefined ? [] : [nlAttr(CTA.ZONE, Buffer.from([o.zone >> 8, o.zone & 0xff]))];
  const payload = Buffer.concat([
    tuple(CTA.TUPLE_ORIG, o.src, o.dst),
    tuple(CTA.TUPLE_REPLY, o.replySrc, o.replyDst),
    ...zone,
  ]);
  const b = nfHeader(NLMSG_HDRLEN + 4 + payload.length, IPCTNL_MSG_CT_NEW, NLM_F_MULTI, 0);
  payload.copy(b, NLMSG_HDRLEN + 4);
  return b;
}

const one = (b: Buffer) => [...messages(b)][0]!;

test('a dump request asks for every IPv4 entry', () => {
  const b = ctDumpRequest(7);
  assert.equal(b.length, 20);
  assert.equal(b.readUInt16LE(4), IPCTNL_MSG_CT_GET);
  assert.equal(b.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
  assert.equal(b.readUInt32LE(8), 7);
  assert.equal(b[16], 2, 'AF_INET');
});

test('an entry: original source, reply destination (the SNAT address) and the raw tuple and zone', () => {
  const e = parseCtEntry(
    one(
      encodeCtEntry({
        src: '10.0.0.5',
        dst: '203.0.113.10',
        replySrc: '203.0.113.10',
        replyDst: '198.51.100.2',
        zone: 3,
      }),
    ),
  )!;
  assert.equal(e.origSrc, '10.0.0.5');
  assert.equal(e.replyDst, '198.51.100.2');
  assert.equal(e.origTuple.readUInt16LE(2) & 0x3fff, 1, 'CTA_TUPLE_ORIG');
  assert.deepEqual([...e.zone!.subarray(4, 6)], [0, 3]);
});

test("pinnedTo: SNATed flows to the address, not the gateway's own flows from it, not other addresses", () => {
  const addrs = new Set(['198.51.100.2']);
  const e = (src: string, replyDst: string) =>
    parseCtEntry(one(encodeCtEntry({ src, dst: '203.0.113.10', replySrc: '203.0.113.10', replyDst })))!;
  assert.equal(pinnedTo(e('10.0.0.5', '198.51.100.2'), addrs), true);
  assert.equal(pinnedTo(e('198.51.100.2', '198.51.100.2'), addrs), false, "the gateway's own flow");
  assert.equal(pinnedTo(e('10.0.0.5', '192.0.2.2'), addrs), false);
});

test('reroutedFrom: flows a routed block started that are NATed, or un-NATed and not TCP; never un-NATed TCP or others', () => {
  const inBlock = (ip: string) => ip.startsWith('203.0.113.');
  const e = (src: string, replyDst: string, proto: number) =>
    parseCtEntry(one(encodeCtEntry({ src, dst: '192.0.2.100', replySrc: '192.0.2.100', replyDst, proto })))!;
  assert.equal(e('203.0.113.70', '203.0.113.70', 17).proto, 17);
  assert.equal(reroutedFrom(e('203.0.113.70', '203.0.113.70', 17), inBlock), true, 'un-NATed UDP');
  assert.equal(reroutedFrom(e('203.0.113.70', '203.0.113.70', 50), inBlock), true, 'un-NATed ESP');
  assert.equal(reroutedFrom(e('203.0.113.70', '203.0.113.70', 6), inBlock), false, 'un-NATed TCP resumes later');
  assert.equal(reroutedFrom(e('203.0.113.70', '198.51.100.9', 6), inBlock), true, 'masqueraded TCP');
  assert.equal(reroutedFrom(e('10.66.0.2', '198.51.100.9', 17), inBlock), false, 'not from the block');
});

test('a delete echoes the original tuple and zone, and is never built without a tuple (that would flush the table)', () => {
  const e = parseCtEntry(
    one(
      encodeCtEntry({
        src: '10.0.0.5',
        dst: '203.0.113.10',
        replySrc: '203.0.113.10',
        replyDst: '198.51.100.2',
        zone: 3,
      }),
    ),
  )!;
  const d = ctDeleteRequest(e, 9);
  assert.equal(d.readUInt16LE(4), IPCTNL_MSG_CT_DELETE);
  assert.equal(d.readUInt16LE(6), 0x5, 'NLM_F_REQUEST | NLM_F_ACK');
  assert.equal(d.readUInt32LE(0), d.length);
  assert.deepEqual(d.subarray(20, 20 + e.origTuple.length), e.origTuple);
  assert.deepEqual(d.subarray(20 + e.origTuple.length, 20 + e.origTuple.length + e.zone!.length), e.zone);
  assert.equal(d.length, 20 + e.origTuple.length + 8, 'the zone attribute padded to 4 bytes');
  assert.throws(() => ctDeleteRequest({ ...e, origTuple: Buffer.alloc(0) }, 1), /flush/);
});

test('truncated or foreign-family messages are skipped, not thrown', () => {
  const b = encodeCtEntry({ src: '10.0.0.5', dst: '203.0.113.10', replySrc: '203.0.113.10', replyDst: '198.51.100.2' });
  b[16] = 10;
  assert.equal(parseCtEntry(one(b)), undefined);
  const cut = encodeCtEntry({
    src: '10.0.0.5',
    dst: '203.0.113.10',
    replySrc: '203.0.113.10',
    replyDst: '198.51.100.2',
  });
  cut.writeUInt32LE(24, 0);
  assert.equal(parseCtEntry(one(cut)), undefined);
});
