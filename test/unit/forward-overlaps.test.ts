/** The forward-overlap sweep agrees with the obvious pairwise check, on random shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forwardOverlaps, type ForwardSpan } from '../../src/config/forward-overlaps.js';
import { PortOwners } from '../../src/firewall/port-owners.js';

/** The definition: two forwards conflict on one protocol, overlapping ports and a shared uplink. */
function conflict(a: ForwardSpan, b: ForwardSpan): boolean {
  if (a.proto !== b.proto || a.first > b.last || b.first > a.last) return false;
  return !a.uplinks || !b.uplinks || a.uplinks.some((u) => b.uplinks!.includes(u));
}

const span = fc.record({
  proto: fc.constantFrom('tcp', 'udp'),
  first: fc.integer({ min: 1, max: 40 }),
  width: fc.integer({ min: 0, max: 6 }),
  uplinks: fc.option(fc.uniqueArray(fc.constantFrom('isp1', 'isp2', 'lte'), { minLength: 1 }), { nil: undefined }),
});

test('overlap sweep: exactly the forwards that conflict with an earlier one, each named with one of those', () => {
  let tried = 0;
  fc.assert(
    fc.property(fc.array(span, { maxLength: 40 }), (raw) => {
      tried++;
      const spans = raw.map((s, index) => ({
        index,
        proto: s.proto,
        first: s.first,
        last: s.first + s.width,
        uplinks: s.uplinks,
      }));
      const found = forwardOverlaps(spans);
      for (const b of spans) {
        const earlier = spans.some((a) => a.index < b.index && conflict(a, b));
        assert.equal(found.has(b.index), earlier, `forward ${b.index}`);
        const i = found.get(b.index);
        if (i !== undefined) assert.ok(i < b.index && conflict(spans[i]!, b), `${b.index} named ${i}`);
      }
    }),
    { numRuns: 2000 },
  );
  assert.equal(tried >= 2000, true);
});

const SHAPES: [string, ForwardSpan[], [number, number][]][] = [
  [
    'disjoint',
    [
      { index: 0, proto: 'tcp', first: 80, last: 80 },
      { index: 1, proto: 'tcp', first: 81, last: 90 },
    ],
    [],
  ],
  [
    'other protocol',
    [
      { index: 0, proto: 'tcp', first: 80, last: 80 },
      { index: 1, proto: 'udp', first: 80, last: 80 },
    ],
    [],
  ],
  [
    'a later range starting lower',
    [
      { index: 0, proto: 'tcp', first: 85, last: 85 },
      { index: 1, proto: 'tcp', first: 80, last: 90 },
    ],
    [[1, 0]],
  ],
  [
    'disjoint uplinks',
    [
      { index: 0, proto: 'tcp', first: 80, last: 80, uplinks: ['isp1'] },
      { index: 1, proto: 'tcp', first: 80, last: 80, uplinks: ['isp2'] },
      { index: 2, proto: 'tcp', first: 80, last: 80 },
    ],
    [[2, 0]],
  ],
];
for (const [name, spans, want] of SHAPES) {
  test(`overlap sweep: ${name}`, () => assert.deepEqual([...forwardOverlaps(spans)], want));
}

test('port owners (the renderer clash check): find agrees with a scan of what was taken', () => {
  let tried = 0;
  const op = fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 20 }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      tried++;
      const owners = new PortOwners();
      const taken: { first: number; last: number; who: number }[] = [];
      ops.forEach(([first, w], who) => {
        const last = Math.min(65535, first + w);
        const scan = taken.filter((e) => e.first <= last && first <= e.last).sort((a, b) => a.first - b.first)[0];
        const at = owners.find(first, last);
        // The lowest taken port in the range belongs to the entry that starts lowest among those overlapping it.
        assert.equal(at, scan?.who, `find(${first}, ${last})`);
        if (!scan) {
          owners.take(first, last, who);
          taken.push({ first, last, who });
        }
      });
    }),
    { numRuns: 1000 },
  );
  assert.equal(tried, 1000);
});
