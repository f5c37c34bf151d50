/** model/timer: delays past Node's 2^31−1 ms limit wait instead of firing at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { after, MAX_TIMER_MS } from '../../src/model/timer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('after: a delay past the limit does not fire early, arms no overflowing timer, and clears', async () => {
  const armed: number[] = [];
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => (armed.push(ms ?? 0), real(fn, ms))) as typeof setTimeout;
  let fired = 0;
  const t = after(30 * 86_400_000, () => fired++);
  globalThis.setTimeout = real;
  await sleep(50);
  t.clear();
  assert.equal(fired, 0);
  assert.deepEqual(armed, [MAX_TIMER_MS]);
});

test('after: short delays fire once, on time; clear before due cancels', async () => {
  let fired = 0;
  after(5, () => fired++);
  const c = after(5, () => fired++);
  c.clear();
  await sleep(40);
  assert.equal(fired, 1);
});
