// Raw IPv4 packets from the demand TUN: header parsing tables, summaries, and a property
// test that no byte soup makes the parser throw.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePacket, summarize, type PacketInfo } from '../../src/demand/packet.js';

interface Ip {
  proto: number;
  l4: Buffer;
  src?: string;
  dst?: string;
  options?: number;
  frag?: number;
  pad?: number;
  total?: number;
}

/** An IPv4 packet; `options` adds 32-bit words of IP options, `frag` is the flags+offset field. */
function ipv4(o: Ip): Buffer {
  const hlen = 20 + 4 * (o.options ?? 0);
  const b = Buffer.alloc(hlen + o.l4.length + (o.pad ?? 0));
  b[0] = 0x40 | (hlen / 4);
  b.writeUInt16BE(o.total ?? hlen + o.l4.length, 2);
  b.writeUInt16BE(o.frag ?? 0x4000, 6); // DF
  b[8] = 64;
  b[9] = o.proto;
  Buffer.from((o.src ?? '10.66.0.2').split('.').map(Number)).copy(b, 12);
  Buffer.from((o.dst ?? '192.0.2.100').split('.').map(Number)).copy(b, 16);
  o.l4.copy(b, hlen);
  return b;
}

function tcp(sport: number, dport: number, flags: number, payload = 0, doff = 5): Buffer {
  const b = Buffer.alloc(20 + payload);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b[12] = doff << 4;
  b[13] = flags;
  return b;
}

function udp(sport: number, dport: number, payload = 0): Buffer {
  const b = Buffer.alloc(8 + payload);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt16BE(8 + payload, 4);
  return b;
}

const icmp = (type: number): Buffer => Buffer.from([type, 0, 0, 0, 0, 1, 0, 1]);

const SYN = 0x02,
  ACK = 0x10,
  FIN = 0x01,
  RST = 0x04;
const flags = (syn: boolean, ack: boolean, fin: boolean, rst: boolean) => ({ syn, ack, fin, rst });
const base = { family: 4 as const, src: '10.66.0.2', dst: '192.0.2.100' };

const GOOD: [string, Buffer, PacketInfo][] = [
  [
    'TCP SYN',
    ipv4({ proto: 6, l4: tcp(40000, 80, SYN) }),
    { ...base, proto: 'tcp', sport: 40000, dport: 80, tcpFlags: flags(true, false, false, false), length: 40 },
  ],
  [
    'TCP FIN+ACK',
    ipv4({ proto: 6, l4: tcp(40000, 80, FIN | ACK) }),
    { ...base, proto: 'tcp', sport: 40000, dport: 80, tcpFlags: flags(false, true, true, false), length: 40 },
  ],
  [
    'TCP RST',
    ipv4({ proto: 6, l4: tcp(443, 51000, RST) }),
    { ...base, proto: 'tcp', sport: 443, dport: 51000, tcpFlags: flags(false, false, false, true), length: 40 },
  ],
  [
    'UDP with 36 bytes of data',
    ipv4({ proto: 17, l4: udp(5000, 7000, 36) }),
    { ...base, proto: 'udp', sport: 5000, dport: 7000, length: 64 },
  ],
  [
    'ICMP echo request',
    ipv4({ proto: 1, l4: icmp(8), src: '10.66.0.1' }),
    { ...base, src: '10.66.0.1', proto: 'icmp', icmpType: 8, length: 28 },
  ],
  [
    'IP options: the transport header starts after IHL*4 bytes',
    ipv4({ proto: 17, l4: udp(53, 33000), options: 2 }),
    { ...base, proto: 'udp', sport: 53, dport: 33000, length: 36 },
  ],
  [
    'first fragment (MF, offset 0) still has ports',
    ipv4({ proto: 17, l4: udp(5000, 7000, 1000), frag: 0x2000 }),
    { ...base, proto: 'udp', sport: 5000, dport: 7000, length: 1028 },
  ],
  [
    'a later fragment has no ports',
    ipv4({ proto: 17, l4: udp(5000, 7000, 100), frag: 0x00b9 }),
    { ...base, proto: 'udp', length: 128 },
  ],
  [
    'a later TCP fragment has neither ports nor flags',
    ipv4({ proto: 6, l4: tcp(1, 2, SYN), frag: 0x0001 }),
    { ...base, proto: 'tcp', length: 40 },
  ],
  ['GRE: another protocol by number', ipv4({ proto: 47, l4: Buffer.alloc(4) }), { ...base, proto: 47, length: 24 }],
  [
    'padding after the IP total length is allowed; length is the buffer',
    ipv4({ proto: 17, l4: udp(1, 2), pad: 6 }),
    { ...base, proto: 'udp', sport: 1, dport: 2, length: 34 },
  ],
];
for (const [name, buf, want] of GOOD) {
  test(`parsePacket: ${name}`, () => assert.deepEqual(parsePacket(buf), want));
}

const v6 = Buffer.alloc(60);
v6[0] = 0x60;
const BAD: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['shorter than an IPv4 header', ipv4({ proto: 17, l4: udp(1, 2) }).subarray(0, 19)],
  ['IPv6', v6],
  [
    'IHL below 5',
    (() => {
      const b = ipv4({ proto: 17, l4: udp(1, 2) });
      b[0] = 0x44;
      return b;
    })(),
  ],
  [
    'IHL beyond the total length',
    (() => {
      const b = ipv4({ proto: 17, l4: udp(1, 2) });
      b[0] = 0x4f;
      return b;
    })(),
  ],
  ['total length beyond the buffer (truncated read)', ipv4({ proto: 17, l4: udp(1, 2, 100), total: 1500 })],
  ['total length below the header', ipv4({ proto: 17, l4: udp(1, 2), total: 12 })],
  ['UDP header cut short', ipv4({ proto: 17, l4: Buffer.alloc(6) })],
  ['TCP header cut short', ipv4({ proto: 6, l4: tcp(1, 2, SYN).subarray(0, 16) })],
  ['TCP data offset below 5', ipv4({ proto: 6, l4: tcp(1, 2, SYN, 0, 4) })],
  ['ICMP header cut short', ipv4({ proto: 1, l4: Buffer.from([8, 0, 0]) })],
];
for (const [name, buf] of BAD) {
  test(`parsePacket refuses: ${name}`, () => assert.equal(parsePacket(buf), undefined));
}

const SUMMARIES: [Buffer, string][] = [
  [ipv4({ proto: 6, l4: tcp(40000, 80, SYN) }), 'tcp 10.66.0.2:40000 → 192.0.2.100:80 SYN'],
  [ipv4({ proto: 6, l4: tcp(80, 40000, SYN | ACK) }), 'tcp 10.66.0.2:80 → 192.0.2.100:40000 SYN-ACK'],
  [ipv4({ proto: 6, l4: tcp(40000, 80, FIN | ACK) }), 'tcp 10.66.0.2:40000 → 192.0.2.100:80 FIN'],
  [ipv4({ proto: 6, l4: tcp(40000, 80, RST | ACK) }), 'tcp 10.66.0.2:40000 → 192.0.2.100:80 RST'],
  [ipv4({ proto: 6, l4: tcp(40000, 80, ACK, 10) }), 'tcp 10.66.0.2:40000 → 192.0.2.100:80 (50 bytes)'],
  [ipv4({ proto: 17, l4: udp(5000, 7000, 36) }), 'udp 10.66.0.2:5000 → 192.0.2.100:7000 (64 bytes)'],
  [ipv4({ proto: 1, l4: icmp(8), src: '10.66.0.1' }), 'icmp 10.66.0.1 → 192.0.2.100 echo-request'],
  [ipv4({ proto: 1, l4: icmp(3) }), 'icmp 10.66.0.2 → 192.0.2.100 destination-unreachable'],
  [ipv4({ proto: 1, l4: icmp(42) }), 'icmp 10.66.0.2 → 192.0.2.100 type 42'],
  [ipv4({ proto: 17, l4: udp(5000, 7000, 100), frag: 0x00b9 }), 'udp 10.66.0.2 → 192.0.2.100 (128 bytes)'],
  [ipv4({ proto: 47, l4: Buffer.alloc(4) }), 'proto 47 10.66.0.2 → 192.0.2.100 (24 bytes)'],
];
for (const [buf, want] of SUMMARIES) {
  test(`summarize: ${want}`, () => assert.equal(summarize(parsePacket(buf)!), want));
}

test('property: parsePacket never throws, on byte soup or on damaged real packets', () => {
  const real = ipv4({ proto: 6, l4: tcp(40000, 80, SYN, 8) });
  const damaged = fc
    .tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(real.length))
    .map(([at, byte, cut]) => {
      const b = Buffer.from(real);
      b[at] = byte;
      return b.subarray(0, cut);
    });
  const soup = fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a));
  const runs = Math.round(5000 * Number(process.env.UPLINKD_FUZZ_SCALE ?? 1));
  let tried = 0;
  fc.assert(
    fc.property(fc.oneof(soup, damaged), (buf) => {
      tried++;
      const p = parsePacket(buf);
      if (p !== undefined) {
        assert.equal(p.length, buf.length);
        assert.equal(typeof summarize(p), 'string');
      }
    }),
    { numRuns: runs },
  );
  assert.equal(tried, runs);
});
