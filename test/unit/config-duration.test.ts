/** Durations: parsing, hints for near misses, formatting, and the zod type. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDuration, duration, formatDuration, parseDuration, positiveDuration } from '../../src/config/duration.js';
import { UplinkError } from '../../src/errors.js';

const GOOD: [string | number, number][] = [
  ['500ms', 500],
  ['5s', 5000],
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['1m30s', 90_000],
  ['1h30m', 5_400_000],
  ['1d12h', 129_600_000],
  ['1.5s', 1500],
  ['0s', 0],
  ['0', 0],
  [0, 0],
  [' 5s ', 5000],
  ['2s500ms', 2500],
];
for (const [input, ms] of GOOD) {
  test(`duration ${JSON.stringify(input)} = ${ms} ms`, () => assert.equal(parseDuration(input), ms));
}

const BAD: [unknown, string, string][] = [
  ['5 sec', '"5 sec" is not a duration', 'write 5s'],
  ['5 seconds', '"5 seconds" is not a duration', 'write 5s'],
  ['10 min', '"10 min" is not a duration', 'write 10m'],
  ['2 hours', '"2 hours" is not a duration', 'write 2h'],
  ['250 msec', '"250 msec" is not a duration', 'write 250ms'],
  ['1 min 30 sec', '"1 min 30 sec" is not a duration', 'write 1m30s'],
  ['5S', '"5S" is not a duration', 'write 5s'],
  ['5', '"5" is not a duration', 'durations need a unit: write 5s (or 5ms)'],
  [5, '5 is not a duration', 'durations need a unit: write 5s (or 5ms)'],
  [-1, '-1 is not a duration', 'durations cannot be negative'],
  ['-5s', '"-5s" is not a duration', 'durations cannot be negative'],
  ['5w', '"5w" is not a duration', 'use ms, s, m, h or d'],
  ['', '"" is not a duration', 'use ms, s, m, h or d'],
  [true, 'true is not a duration', 'use ms, s, m, h or d'],
  [null, 'an empty value is not a duration', 'use ms, s, m, h or d'],
];
for (const [input, message, hint] of BAD) {
  test(`not a duration: ${JSON.stringify(input)}`, () => {
    const r = checkDuration(input);
    assert.ok(!r.ok);
    assert.equal(r.message, message);
    assert.ok(r.hint.startsWith(hint), r.hint);
  });
}

test('parseDuration throws an UplinkError with the hint', () => {
  assert.throws(
    () => parseDuration('5 sec'),
    (e: unknown) => {
      assert.ok(e instanceof UplinkError);
      assert.equal(e.message, '"5 sec" is not a duration');
      assert.equal(e.hint, 'write 5s');
      return true;
    },
  );
});

test('formatDuration is the inverse for canonical forms', () => {
  for (const s of ['500ms', '5s', '10m', '1h', '1d', '1m30s', '1h30m', '1d12h', '2s500ms']) {
    assert.equal(formatDuration(parseDuration(s)), s);
  }
  assert.equal(formatDuration(0), '0s');
});

test('zod duration types', () => {
  assert.equal(duration.parse('5s'), 5000);
  assert.equal(duration.parse(0), 0);
  assert.ok(!duration.safeParse(5).success);
  assert.ok(!positiveDuration.safeParse('0s').success);
  assert.equal(positiveDuration.parse('1ms'), 1);
});
