/**
 * TSIG (RFC 8945, HMAC-SHA256). The known answer comes from another implementation: kdig
 * (libknot) signed the query below, printed with `+qr`; we rebuild the same bytes and must get
 * its MAC. The rest checks verification in the RFC's order and that broken messages are a
 * format error, never a crash. Interop with a real server is the announce lab test (knot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeName } from '../../src/system/probe/dns-packet.js';
import { parseTsig, signMessage, TSIG_ERRORS, verifyMessage } from '../../src/system/outbound/tsig.js';

const KEY = { name: 'office-key', secret: Buffer.from('dXBsaW5rZC1sYWItdHNpZy1rZXktMzItYnl0ZXMhISE=', 'base64') };

/**
 * `kdig +qr +noedns +norec -y hmac-sha256:office-key:<KEY> example.test SOA` printed:
 *   id: 32106; Flags: ad; QUERY: 1
 *   office-key. 0 ANY TSIG hmac-sha256. 1796292959 300 32 pxHBhx1d...= 32106 NOERROR 0
 */
function kdigQuery(name = 'example.test'): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(32106, 0);
  header.writeUInt16BE(0x0020, 2); // AD
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, encodeName(name), Buffer.from([0, 6, 0, 1])]);
}
const KDIG_TIME = 1796292959;
const KDIG_MAC = 'pxHBhx1dCC3ttj3anLMKkoO08g1dK1Zyij0t7h3DXmE=';

test('tsig: the MAC matches what kdig computed for the same query, key and time', () => {
  const { message, mac } = signMessage(kdigQuery(), KEY, KDIG_TIME);
  assert.equal(mac.toString('base64'), KDIG_MAC);
  assert.equal(message.length, 113, 'kdig sent 113 bytes');
  assert.equal(message.readUInt16BE(10), 1, 'ARCOUNT counts the TSIG record');
  // Names are hashed in canonical (lower-case) form: the key's spelling does not matter.
  const upper = signMessage(kdigQuery(), { ...KEY, name: 'Office-KEY' }, KDIG_TIME);
  assert.equal(upper.mac.toString('base64'), KDIG_MAC);
});

test('tsig: verification checks key, then MAC, then time (table)', () => {
  const { message } = signMessage(kdigQuery(), KEY, KDIG_TIME);
  const tampered = Buffer.from(message);
  tampered[15] ^= 0x20; // "example" becomes "exAmple": the MAC covers the bytes as sent
  const cases: [string, Buffer, typeof KEY, number, string][] = [
    ['intact, in time', message, KEY, KDIG_TIME + 10, 'ok'],
    ['other key name', message, { ...KEY, name: 'other-key' }, KDIG_TIME, 'BADKEY'],
    ['wrong secret', message, { ...KEY, secret: Buffer.alloc(32, 1) }, KDIG_TIME, 'BADSIG'],
    ['changed byte', tampered, KEY, KDIG_TIME, 'BADSIG'],
    ['past the fudge', message, KEY, KDIG_TIME + 301, 'BADTIME'],
    ['unsigned', kdigQuery(), KEY, KDIG_TIME, 'UNSIGNED'],
  ];
  for (const [what, m, key, now, want] of cases) {
    const v = verifyMessage(m, key, { now });
    assert.equal(v.ok ? 'ok' : v.reason, want, what);
  }
});

test('tsig: an answer verifies only with the MAC of its own request', () => {
  const request = signMessage(kdigQuery(), KEY, KDIG_TIME);
  // Signed without the request's MAC in front, which RFC 8945 §5.3 requires of an answer:
  const answer = signMessage(kdigQuery(), KEY, KDIG_TIME).message;
  assert.equal(verifyMessage(answer, KEY, { now: KDIG_TIME }).ok, true);
  const v = verifyMessage(answer, KEY, { requestMac: request.mac, now: KDIG_TIME });
  assert.equal(v.ok ? 'ok' : v.reason, 'BADSIG');
});

test('tsig: truncated or garbled messages are format errors, never exceptions', () => {
  const { message } = signMessage(kdigQuery(), KEY, KDIG_TIME);
  for (let len = 0; len < message.length; len++) {
    const v = verifyMessage(message.subarray(0, len), KEY, { now: KDIG_TIME });
    assert.equal(v.ok, false, `cut at ${len}`);
  }
  const loop = Buffer.from(message);
  const keyAt = 12 + encodeName('example.test').length + 4;
  loop.writeUInt16BE(0xc000 | keyAt, keyAt); // the TSIG record's owner name points at itself
  assert.equal((verifyMessage(loop, KEY) as { reason: string }).reason, 'FORMERR');
  assert.equal(parseTsig(kdigQuery()), undefined);
  assert.equal(TSIG_ERRORS[16], 'BADSIG');
});
