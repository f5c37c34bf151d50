// The hold-and-replay queue: order kept, bounded in bytes and age, oldest dropped first, drops counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HoldQueue } from '../../src/demand/queue.js';

const pkt = (n: number, size = 100) => Buffer.alloc(size, n & 0xff);

test('packets come out in the order they went in, and the queue is empty afterwards', () => {
  const q = new HoldQueue({ maxBytes: 10_000, maxAgeMs: 10_000 });
  for (let i = 0; i < 5; i++) q.push(pkt(i), i);
  assert.deepEqual(
    q.drain(10).map((b) => b[0]),
    [0, 1, 2, 3, 4],
  );
  assert.equal(q.size, 0);
  assert.deepEqual(q.counters(), { packets: 0, bytes: 0, queued: 5, replayed: 5, droppedFull: 0, droppedAge: 0 });
});

test('full: the oldest packets are dropped first and counted', () => {
  const q = new HoldQueue({ maxBytes: 300, maxAgeMs: 10_000 });
  for (let i = 0; i < 5; i++) q.push(pkt(i), 0);
  assert.deepEqual(
    q.drain(0).map((b) => b[0]),
    [2, 3, 4],
  );
  assert.equal(q.counters().droppedFull, 2);
});

test('too old: dropped at the next push or drain, and counted apart', () => {
  const q = new HoldQueue({ maxBytes: 10_000, maxAgeMs: 1000 });
  q.push(pkt(1), 0);
  q.push(pkt(2), 500);
  assert.deepEqual(
    q.drain(1200).map((b) => b[0]),
    [2],
  );
  assert.equal(q.counters().droppedAge, 1);
});

test('a packet larger than the whole queue is dropped, not the queue', () => {
  const q = new HoldQueue({ maxBytes: 150, maxAgeMs: 1000 });
  q.push(pkt(1), 0);
  q.push(pkt(2, 200), 0);
  assert.deepEqual(
    q.drain(0).map((b) => b[0]),
    [1],
  );
  assert.equal(q.counters().droppedFull, 1);
});

test('property: bytes held never exceed the limit; queued = replayed + dropped + held; order is kept', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 4, max: 400 }), fc.integer({ min: 0, max: 50 }))),
      fc.integer({ min: 100, max: 2000 }),
      (ops, maxBytes) => {
        const q = new HoldQueue({ maxBytes, maxAgeMs: 200 });
        let now = 0,
          seq = 0;
        for (const [size, dt] of ops) {
          now += dt;
          const b = Buffer.alloc(size);
          b.writeUInt32BE(seq++, 0);
          q.push(b, now);
          assert.ok(q.counters().bytes <= maxBytes);
        }
        const held = q.size;
        const out = q.drain(now);
        const c = q.counters();
        assert.equal(out.length, held);
        const seqs = out.map((b) => b.readUInt32BE(0));
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
        );
        assert.equal(c.queued, c.replayed + c.droppedFull + c.droppedAge + c.packets);
      },
    ),
  );
});
