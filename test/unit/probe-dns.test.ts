// DNS wire format for probes (pure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildQuery,
  buildResponse,
  DNS_TYPE_A,
  DNS_TYPE_NS,
  DnsNameError,
  encodeName,
  isResponseTo,
  parseHeader,
} from '../../src/system/probe/dns-packet.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('root NS query: header with RD=1, one question, empty name', () => {
  const q = buildQuery(0x1234, '.');
  assert.equal(hex(q), '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + '00' + '0002' + '0001');
  assert.equal(hex(buildQuery(0x1234, '')), hex(q));
});

test('A query for a name: labels, trailing dot optional', () => {
  const q = buildQuery(0xbeef, 'example.org');
  const name = `07${Buffer.from('example').toString('hex')}03${Buffer.from('org').toString('hex')}00`;
  assert.equal(hex(q), `beef01000001000000000000${name}00010001`);
  assert.equal(hex(buildQuery(0xbeef, 'example.org.')), hex(q));
  assert.equal(buildQuery(1, 'example.org', DNS_TYPE_NS).readUInt16BE(q.length - 4), DNS_TYPE_NS);
  assert.equal(q.readUInt16BE(q.length - 4), DNS_TYPE_A);
});

test('bad names and ids are refused', () => {
  assert.throws(() => encodeName('a..b'), DnsNameError);
  assert.throws(() => encodeName(`${'x'.repeat(64)}.org`), /63/);
  assert.doesNotThrow(() => encodeName(`${'x'.repeat(63)}.org`));
  assert.throws(() => encodeName(Array(60).fill('abcd').join('.')), /255/);
  assert.throws(() => encodeName('bad name.org'), DnsNameError);
  assert.throws(() => buildQuery(0x10000, '.'), RangeError);
  assert.throws(() => buildQuery(-1, '.'), RangeError);
});

test('header parsing', () => {
  assert.equal(parseHeader(Buffer.alloc(11)), undefined);
  const h = parseHeader(Buffer.from('abcd818300010000000100000000', 'hex'))!;
  assert.deepEqual(h, { id: 0xabcd, qr: true, opcode: 0, rcode: 3, qdcount: 1, ancount: 0, nscount: 1, arcount: 0 });
});

test('a response matches its query by id and QR; any rcode counts', () => {
  const q = buildQuery(0x4242, 'example.org');
  assert.equal(isResponseTo(q, 0x4242), false, 'the query itself is no answer');
  const r = buildResponse(q);
  assert.equal(isResponseTo(r, 0x4242), true);
  assert.equal(isResponseTo(r, 0x4243), false);
  const servfail = buildResponse(q, 2);
  assert.equal(parseHeader(servfail)!.rcode, 2);
  assert.equal(isResponseTo(servfail, 0x4242), true);
  const h = parseHeader(r)!;
  assert.equal(h.qdcount, 1);
  assert.equal(r.readUInt16BE(2) & 0x0100, 0x0100, 'RD copied');
  assert.equal(hex(r.subarray(12)), hex(q.subarray(12)), 'question copied');
  assert.equal(isResponseTo(Buffer.from('4242'), 0x4242), false, 'truncated');
});
