/** The event-loop monitor samples in step with the fastest probing, and keeps its window across a change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopDelay, sampleMs } from '../../src/daemon/loop-delay.js';

test('sampleMs: a quarter of the fastest probe interval, between 50 ms and 1 s', () => {
  const cases: [string, number, number][] = [
    ['instant (50 ms)', 50, 50],
    ['fast (200 ms)', 200, 50],
    ['an interval of 1 s', 1000, 250],
    ['normal (2 s)', 2000, 500],
    ['frugal (60 s)', 60_000, 1000],
    ['no uplinks (Math.min of nothing)', Number.POSITIVE_INFINITY, 1000],
  ];
  for (const [what, interval, want] of cases) assert.equal(sampleMs(interval), want, what);
});

test('LoopDelay: a stall before a resolution change still shows after it', async () => {
  const d = new LoopDelay();
  d.fitTo(50);
  await d.start();
  try {
    await new Promise((r) => setTimeout(r, 120));
    const until = Date.now() + 150;
    while (Date.now() < until); // a 150 ms stall of this loop
    await new Promise((r) => setTimeout(r, 120));
    d.fitTo(2000);
    const s = d.status();
    assert.ok(s.maxMs >= 100, `max ${s.maxMs} ms after the change`);
  } finally {
    await d.stop();
  }
});
