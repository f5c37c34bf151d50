/**
 * The HTTP API's bounded state: login codes work once and expire, sessions expire and are
 * capped; the sample ring keeps the last hour per uplink and forgets removed uplinks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sessions } from '../../src/control/http/sessions.js';
import { SampleRing, type SampleSource } from '../../src/control/http/samples.js';

const LIMITS = { codeMs: 1000, sessionMs: 5000, maxSessions: 3, maxCodes: 2 };

test('login codes: once, before they expire; the oldest goes past the cap', () => {
  const s = new Sessions(LIMITS);
  const a = s.newCode(0);
  const id = s.redeem(a, 500);
  assert.ok(id && s.ids(500).has(id));
  assert.equal(s.redeem(a, 600), undefined, 'spent');
  const late = s.newCode(0);
  assert.equal(s.redeem(late, 1000), undefined, 'expired at codeMs');
  const [c1, c2, c3] = [s.newCode(0), s.newCode(0), s.newCode(0)];
  assert.equal(s.redeem(c1, 1), undefined, 'pushed out by the cap');
  assert.ok(s.redeem(c2, 1) && s.redeem(c3, 1));
  assert.equal(s.redeem('not-a-code', 1), undefined);
});

test('sessions: expire after sessionMs; at most maxSessions, the oldest dropped', () => {
  const s = new Sessions(LIMITS);
  const first = s.open(0);
  assert.ok(s.ids(4999).has(first));
  assert.equal(s.ids(5000).has(first), false, 'expired');
  const ids = [1, 2, 3, 4].map((t) => s.open(6000 + t));
  const live = s.ids(6010);
  assert.equal(live.size, 3);
  assert.equal(live.has(ids[0]!), false, 'the oldest went');
});

test('sample ring: bounded per uplink, null for unknown values, removed uplinks forgotten', () => {
  let src: SampleSource[] = [
    { name: 'wan1', rttMs: 10, jitterMs: 1, lossPct: 0, up: true },
    { name: 'wan2', up: false },
  ];
  const r = new SampleRing(() => src, 5000, 4);
  for (let i = 0; i < 10; i++) r.take(i * 5000);
  const v = r.view();
  assert.equal(v.everyS, 5);
  assert.equal(v.uplinks.wan1!.length, 4, 'keep = 4');
  assert.deepEqual(
    v.uplinks.wan1!.map((x) => x.t),
    [30, 35, 40, 45],
    'the newest kept, oldest first',
  );
  assert.deepEqual(v.uplinks.wan2!.at(-1), { t: 45, rttMs: null, jitterMs: null, lossPct: null, up: 0 });
  src = src.slice(0, 1);
  r.take(50_000);
  assert.equal(r.view().uplinks.wan2, undefined, 'gone with the config');
});
