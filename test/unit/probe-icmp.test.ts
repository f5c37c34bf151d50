// ICMP echo packets, target parsing and request validation (pure: no sockets are opened).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { buildEcho, checksum, icmpErrorName, parseIcmp } from '../../src/system/probe/icmp-packet.js';
import { Prober } from '../../src/system/probe/prober.js';
import {
  checkSource,
  NOT_AN_IP,
  parseEndpoint,
  parseHttpTarget,
  parseIcmpTarget,
} from '../../src/model/probe-target.js';

const ipv4Header = (proto = 1) => {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[9] = proto;
  return h;
};
const ipv6Header = () => {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h[6] = 58;
  return h;
};

test('RFC 1071 checksum; an IPv4 echo sums to zero', () => {
  assert.equal(checksum(Buffer.from('0800000000010001', 'hex')), 0xf7fd);
  assert.equal(checksum(Buffer.from([0x01])), 0xfeff, 'odd length pads with zero');
  const e = buildEcho(4, 0x1234, 7, Buffer.from('hello'));
  assert.equal(e[0], 8);
  assert.equal(e.readUInt16BE(4), 0x1234);
  assert.equal(e.readUInt16BE(6), 7);
  assert.equal(checksum(e), 0);
  const e6 = buildEcho(6, 1, 2, Buffer.alloc(4));
  assert.equal(e6[0], 128);
  assert.equal(e6.readUInt16BE(2), 0, 'ICMPv6 checksum left to the kernel');
});

test('parses echo replies with and without an IPv4 header', () => {
  const reply = Buffer.from('0000000012340007', 'hex');
  assert.deepEqual(parseIcmp(4, reply, false), { kind: 'reply', id: 0x1234, seq: 7 });
  assert.deepEqual(parseIcmp(4, Buffer.concat([ipv4Header(), reply]), true), { kind: 'reply', id: 0x1234, seq: 7 });
  const reply6 = Buffer.from('8100000012340007', 'hex');
  assert.deepEqual(parseIcmp(6, reply6, false), { kind: 'reply', id: 0x1234, seq: 7 });
  assert.equal(parseIcmp(4, buildEcho(4, 1, 1, Buffer.alloc(0)), false), undefined, 'our own request is no reply');
  assert.equal(parseIcmp(4, reply.subarray(0, 7), false), undefined);
  assert.equal(parseIcmp(4, reply, true), undefined, 'no IPv4 header where one was expected');
});

test('parses ICMP errors quoting one of our echo requests', () => {
  const ours = buildEcho(4, 0x0102, 0x0304, Buffer.alloc(8));
  const unreach = Buffer.concat([
    ipv4Header(),
    Buffer.from('0301000000000000', 'hex'),
    ipv4Header(1),
    ours.subarray(0, 8),
  ]);
  assert.deepEqual(parseIcmp(4, unreach, true), { kind: 'error', type: 3, code: 1, id: 0x0102, seq: 0x0304 });
  assert.equal(icmpErrorName(4, 3, 1), 'host unreachable');
  assert.equal(icmpErrorName(4, 3, 13), 'administratively prohibited');
  const udpQuoted = Buffer.concat([
    ipv4Header(),
    Buffer.from('0303000000000000', 'hex'),
    ipv4Header(17),
    Buffer.alloc(8),
  ]);
  assert.equal(parseIcmp(4, udpQuoted, true), undefined, "an error about someone else's UDP");
  const ours6 = buildEcho(6, 9, 10, Buffer.alloc(0));
  const unreach6 = Buffer.concat([Buffer.from('0103000000000000', 'hex'), ipv6Header(), ours6]);
  assert.deepEqual(parseIcmp(6, unreach6, false), { kind: 'error', type: 1, code: 3, id: 9, seq: 10 });
  assert.equal(icmpErrorName(6, 1, 3), 'address unreachable');
});

test('targets are IP addresses', () => {
  assert.deepEqual(parseIcmpTarget('192.0.2.1'), { ok: true, value: { host: '192.0.2.1', family: 4 } });
  assert.deepEqual(parseIcmpTarget('2001:db8::1'), { ok: true, value: { host: '2001:db8::1', family: 6 } });
  assert.equal(parseIcmpTarget('example.org').ok, false);
  assert.deepEqual(parseEndpoint('192.0.2.1:80'), { ok: true, value: { host: '192.0.2.1', family: 4, port: 80 } });
  assert.deepEqual(parseEndpoint('[2001:db8::1]:443'), {
    ok: true,
    value: { host: '2001:db8::1', family: 6, port: 443 },
  });
  assert.deepEqual(parseEndpoint('2001:db8::1', 53), { ok: true, value: { host: '2001:db8::1', family: 6, port: 53 } });
  assert.deepEqual(parseEndpoint('192.0.2.1', 53), { ok: true, value: { host: '192.0.2.1', family: 4, port: 53 } });
  assert.match((parseEndpoint('192.0.2.1') as { error: string }).error, /needs a port/);
  assert.match((parseEndpoint('example.org:80') as { error: string }).error, new RegExp(NOT_AN_IP));
  assert.match((parseEndpoint('192.0.2.1:0') as { error: string }).error, /bad port/);
  assert.match((parseEndpoint('192.0.2.1:65536') as { error: string }).error, /bad port/);
  assert.equal(parseEndpoint('[192.0.2.1]:80').ok, true);
  const h = parseHttpTarget('http://[2001:db8::2]:8080/ok');
  assert.ok(h.ok && h.value.host === '2001:db8::2' && h.value.family === 6);
  assert.match((parseHttpTarget('http://example.org/') as { error: string }).error, new RegExp(NOT_AN_IP));
  assert.equal(parseHttpTarget('ftp://192.0.2.1/').ok, false);
  assert.equal(checkSource(undefined, 4), undefined);
  assert.equal(checkSource('192.0.2.1', 4), undefined);
  assert.match(checkSource('192.0.2.1', 6)!, /IPv4 but the target is IPv6/);
  assert.match(checkSource('eth0', 4)!, /not an IP/);
});

test('Prober refuses bad requests without touching the network, and never rejects', async () => {
  const p = new Prober(pino({ level: 'silent' }));
  assert.equal(p.icmpMode, 'unknown');
  assert.deepEqual(await p.probe({ method: 'http', target: 'http://example.org/', timeoutMs: 100 }), {
    ok: false,
    error: `${NOT_AN_IP}: "http://example.org/"`,
  });
  assert.match(
    (await p.probe({ method: 'tcp', target: 'example.org:80', timeoutMs: 100 })).error!,
    new RegExp(NOT_AN_IP),
  );
  assert.match((await p.probe({ method: 'icmp', target: 'gateway', timeoutMs: 100 })).error!, new RegExp(NOT_AN_IP));
  assert.match(
    (await p.probe({ method: 'icmp', target: '192.0.2.1', source: '2001:db8::1', timeoutMs: 100 })).error!,
    /IPv6 but the target is IPv4/,
  );
  assert.match(
    (await p.probe({ method: 'dns', target: '192.0.2.1', query: 'a..b', timeoutMs: 100 })).error!,
    /empty label/,
  );
  assert.match((await p.probe({ method: 'icmp', target: '192.0.2.1', timeoutMs: 0 })).error!, /bad probe timeout/);
  assert.match(
    (await p.probe({ method: 'ftp' as 'tcp', target: '192.0.2.1', timeoutMs: 10 })).error!,
    /unknown probe method/,
  );
  await p.stop();
  assert.deepEqual(await p.probe({ method: 'tcp', target: '192.0.2.1:80', timeoutMs: 100 }), {
    ok: false,
    error: 'prober stopped',
  });
});
