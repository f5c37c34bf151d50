/** The event history: bounded by count and by size; `uplink events` filters it by type and age. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../src/events/bus.js';
import { controlMethods, type ControlApi } from '../../src/control/methods.js';

test('event history: at most `keep` events, and at most maxBytes of them (the newest stay)', () => {
  const bus = new EventBus(10, 4096);
  for (let i = 0; i < 50; i++) bus.publish({ type: 'daemon', message: `m${i}` });
  assert.deepEqual(
    bus.history().map((e) => (e.type === 'daemon' ? e.message : '')),
    Array.from({ length: 10 }, (_, i) => `m${40 + i}`),
  );
  const big = new EventBus(1000, 4096);
  for (let i = 0; i < 20; i++) big.publish({ type: 'daemon', message: 'x'.repeat(1000) + i });
  const kept = big.history();
  assert.ok(kept.length <= 4 && kept.length >= 3, `${kept.length} kept`);
  const last = kept.at(-1)!;
  assert.match(last.type === 'daemon' ? last.message : '', /19$/);
});

test('events method: by type and by age', async () => {
  const bus = new EventBus();
  bus.publish({ type: 'daemon', message: 'old' });
  bus.publish({ type: 'selection', selected: 'a', reason: 'start' });
  const table = controlMethods({ history: () => bus.history() } as unknown as ControlApi);
  const call = (params: object) => table.events!.handler(params as never, undefined as never) as unknown[];
  assert.equal(call({}).length, 2);
  assert.deepEqual(
    call({ type: 'selection' }).map((e) => (e as { type: string }).type),
    ['selection'],
  );
  assert.equal(call({ sinceMs: 60_000 }).length, 2);
});
