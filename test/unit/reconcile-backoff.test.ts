/** The apply phase's retry bookkeeping (pure, explicit clock), and the loop using it on the fake System. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/reconcile/backoff.js';
import { Reasons } from '../../src/reconcile/reasons.js';

test('backoff: doubles up to the ceiling while nothing changes; a new error is reported, a repeat is not', () => {
  const b = new Backoff(1000, 30_000);
  const op = 'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 100';
  assert.ok(b.allowed(op, 0, 1));
  assert.equal(b.failed(op, 'Network is unreachable', 0, 1), true, 'first failure: log it');
  const waits: number[] = [];
  let now = 0;
  for (let i = 0; i < 8; i++) {
    const next = b.view()[0]!.nextAt;
    assert.ok(!b.allowed(op, next - 1, 1), 'held back until its time');
    assert.ok(b.allowed(op, next, 1));
    waits.push(next - now);
    now = next;
    assert.equal(b.failed(op, 'Network is unreachable', now, 1), false, 'the same error again: not logged again');
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(b.view()[0]!.count, 9);
  assert.equal(b.failed(op, 'File exists', now, 1), true, 'a different error is reported');
});

const CHANGES: [string, (b: Backoff, op: string) => boolean][] = [
  ['the world changed (a link, address or route event)', (b, op) => b.allowed(op, 10, 2, 'A')],
  ['what is desired changed', (b, op) => b.allowed(op, 10, 1, 'B')],
  ['its wait ran out', (b, op) => b.allowed(op, 1000, 1, 'A')],
];
for (const [name, retry] of CHANGES) {
  test(`backoff: retried at once when ${name}`, () => {
    const b = new Backoff(1000, 30_000);
    b.failed('nft ruleset', 'Error: Could not process rule', 0, 1, 'A');
    assert.ok(!b.allowed('nft ruleset', 10, 1, 'A'), 'unchanged: held back');
    assert.ok(retry(b, 'nft ruleset'));
  });
}

test('backoff: cleared says what ended; retain forgets ops no longer wanted; nextAt is the earliest', () => {
  const b = new Backoff(1000, 30_000);
  b.failed('a', 'x', 0, 1);
  b.failed('b', 'y', 500, 1);
  assert.equal(b.nextAt(), 1000);
  assert.equal(b.nextAt(1000), 1500, 'the earliest still to come');
  b.retain((op) => op === 'b');
  assert.deepEqual(
    b.view().map((f) => f.op),
    ['b'],
  );
  assert.equal(b.cleared('b')?.count, 1);
  assert.equal(b.cleared('b'), undefined);
  assert.equal(b.nextAt(), undefined);
});

test('reasons: repeats counted, bounded, taken once', () => {
  const r = new Reasons(3);
  for (const x of ['probe round of wan1', 'probe round of wan1', 'carrier change: wan1', 'a', 'b', 'c']) r.add(x);
  assert.deepEqual(r.take(), ['probe round of wan1 (x2)', 'carrier change: wan1', 'a', '2 more']);
  assert.deepEqual(r.take(), []);
});
