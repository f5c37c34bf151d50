/**
 * Uplink selection (src/routing/select.ts), table-driven with literal inputs.
 * Pins: force wins whatever the health; manual uplinks carry traffic only when forced; ranking
 * (healthy before degraded, always before backup before demand, lower priority first, config
 * order last); leaving an unusable uplink is immediate; moving to a better one waits for its
 * failback delay; the order lists the selected uplink first, then the rest by rank.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectUplinks, type Candidate, type SelectInput } from '../../src/routing/select.js';

const NOW = 1_000_000;

/** A usable, healthy candidate, good since long ago, with a 30 s failback delay; literal overrides. */
const cand = (name: string, mode: Candidate['mode'], priority: number, o: Partial<Candidate> = {}): Candidate => ({
  name,
  mode,
  priority,
  usable: true,
  healthy: true,
  goodSince: 0,
  failbackDelayMs: 30_000,
  ...o,
});

interface SelectCase {
  name: string;
  in: SelectInput;
  order: string[];
  selected: string | undefined;
  reason?: string;
  /** Usable uplinks by rank alone, whatever is forced or held back (what routed prefixes pick from). */
  ranked?: string[];
}

const cases: SelectCase[] = [
  // Force.
  {
    name: 'forced wins over a healthy current, even when the forced uplink is unusable',
    in: {
      candidates: [cand('fiber', 'always', 10), cand('lte', 'backup', 20, { usable: false, goodSince: undefined })],
      forced: 'lte',
      current: 'fiber',
      now: NOW,
    },
    order: ['lte'],
    selected: 'lte',
    reason: 'forced to lte by the admin',
    ranked: ['fiber'],
  },
  {
    name: 'forced picks a degraded uplink over a healthy one',
    in: {
      candidates: [cand('fiber', 'always', 10), cand('dsl', 'always', 20, { healthy: false, goodSince: undefined })],
      forced: 'dsl',
      now: NOW,
    },
    order: ['dsl'],
    selected: 'dsl',
    reason: 'forced to dsl by the admin',
    ranked: ['fiber', 'dsl'],
  },
  {
    name: 'forced can pick a manual uplink',
    in: {
      candidates: [cand('fiber', 'always', 10), cand('sat', 'manual', 1)],
      forced: 'sat',
      current: 'fiber',
      now: NOW,
    },
    order: ['sat'],
    selected: 'sat',
    reason: 'forced to sat by the admin',
  },
  {
    name: 'forced ignores the failback delay',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW }), cand('lte', 'backup', 20)],
      forced: 'fiber',
      current: 'lte',
      now: NOW,
    },
    order: ['fiber'],
    selected: 'fiber',
    reason: 'forced to fiber by the admin',
  },

  // Nothing usable.
  {
    name: 'no candidates → nothing',
    in: { candidates: [], now: NOW },
    order: [],
    selected: undefined,
    reason: 'no usable uplink',
  },
  {
    name: 'none usable → nothing',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { usable: false, goodSince: undefined }),
        cand('lte', 'backup', 20, { usable: false, goodSince: undefined }),
      ],
      now: NOW,
    },
    order: [],
    selected: undefined,
    reason: 'no usable uplink',
  },
  {
    name: 'none usable, with a current → nothing',
    in: {
      candidates: [cand('fiber', 'always', 10, { usable: false, goodSince: undefined })],
      current: 'fiber',
      now: NOW,
    },
    order: [],
    selected: undefined,
    reason: 'no usable uplink',
  },
  {
    name: 'only a usable manual uplink → nothing',
    in: {
      candidates: [cand('fiber', 'always', 10, { usable: false, goodSince: undefined }), cand('sat', 'manual', 1)],
      now: NOW,
    },
    order: [],
    selected: undefined,
    reason: 'no usable uplink',
  },

  // Start: the best usable uplink, at once.
  {
    name: 'start: always before backup, even with a lower backup priority',
    in: { candidates: [cand('lte', 'backup', 1), cand('fiber', 'always', 100)], now: NOW },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'start: fiber is the best usable uplink',
  },
  {
    name: 'start: backup before demand',
    in: { candidates: [cand('isdn', 'demand', 1), cand('lte', 'backup', 50)], now: NOW },
    order: ['lte', 'isdn'],
    selected: 'lte',
    reason: 'start: lte is the best usable uplink',
  },
  {
    name: 'start: lower priority first within a mode',
    in: { candidates: [cand('dsl', 'always', 20), cand('fiber', 'always', 10)], now: NOW },
    order: ['fiber', 'dsl'],
    selected: 'fiber',
    reason: 'start: fiber is the best usable uplink',
  },
  {
    name: 'start: healthy before degraded (a healthy backup beats a degraded always)',
    in: {
      candidates: [cand('fiber', 'always', 10, { healthy: false, goodSince: undefined }), cand('lte', 'backup', 20)],
      now: NOW,
    },
    order: ['lte', 'fiber'],
    selected: 'lte',
    reason: 'start: lte is the best usable uplink',
  },
  {
    name: 'start: config order breaks ties',
    in: { candidates: [cand('wan2', 'always', 10), cand('wan1', 'always', 10)], now: NOW },
    order: ['wan2', 'wan1'],
    selected: 'wan2',
    reason: 'start: wan2 is the best usable uplink',
  },
  {
    name: 'start: the failback delay does not apply (nothing to leave)',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW }), cand('lte', 'backup', 20, { goodSince: NOW })],
      now: NOW,
    },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'start: fiber is the best usable uplink',
  },
  {
    name: 'start: unusable and manual uplinks are left out of the order',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { usable: false, goodSince: undefined }),
        cand('sat', 'manual', 1),
        cand('lte', 'backup', 20),
        cand('dsl', 'always', 30, { healthy: false, goodSince: undefined }),
      ],
      now: NOW,
    },
    order: ['lte', 'dsl'],
    selected: 'lte',
    reason: 'start: lte is the best usable uplink',
  },
  {
    name: 'start: a usable verifying uplink (not yet good) can be selected',
    in: { candidates: [cand('ppp', 'always', 10, { goodSince: undefined })], now: NOW },
    order: ['ppp'],
    selected: 'ppp',
    reason: 'start: ppp is the best usable uplink',
  },

  // Leaving an unusable current: immediate, no failback delay.
  {
    name: 'current unusable → best usable at once, even if it just became good',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { usable: false, goodSince: undefined }),
        cand('lte', 'backup', 20, { goodSince: NOW, failbackDelayMs: 60_000 }),
      ],
      current: 'fiber',
      now: NOW,
    },
    order: ['lte'],
    selected: 'lte',
    reason: 'fiber is not usable: lte is the best usable uplink',
  },
  {
    name: 'current no longer configured → best usable at once',
    in: { candidates: [cand('lte', 'backup', 20, { goodSince: NOW })], current: 'gone', now: NOW },
    order: ['lte'],
    selected: 'lte',
    reason: 'gone is not usable: lte is the best usable uplink',
  },
  {
    name: 'current is manual (after unforce) → left at once for the best non-manual',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW }), cand('sat', 'manual', 1)],
      current: 'sat',
      now: NOW,
    },
    order: ['fiber'],
    selected: 'fiber',
    reason: 'sat is not usable: fiber is the best usable uplink',
  },

  // Current is the best.
  {
    name: 'current is the best → stays',
    in: { candidates: [cand('fiber', 'always', 10), cand('lte', 'backup', 20)], current: 'fiber', now: NOW },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'fiber is the best usable uplink',
  },
  {
    name: 'current degraded and the only other uplink is unusable → stays',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { healthy: false, goodSince: undefined }),
        cand('lte', 'backup', 20, { usable: false, goodSince: undefined }),
      ],
      current: 'fiber',
      now: NOW,
    },
    order: ['fiber'],
    selected: 'fiber',
    reason: 'fiber is the best usable uplink',
  },

  // Failback: a better uplink waits for its own failback delay.
  {
    name: 'better uplink good for less than its failback delay → stay',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW - 29_999 }), cand('lte', 'backup', 20)],
      current: 'lte',
      now: NOW,
    },
    order: ['lte', 'fiber'],
    selected: 'lte',
    reason: 'staying on lte: fiber must be good for 30s first',
  },
  {
    name: 'better uplink good for exactly its failback delay → switch',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW - 30_000 }), cand('lte', 'backup', 20)],
      current: 'lte',
      now: NOW,
    },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'fiber is better than lte and has been good for 30s',
  },
  {
    name: 'better uplink good for longer than its failback delay → switch',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW - 90_000 }), cand('lte', 'backup', 20)],
      current: 'lte',
      now: NOW,
    },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'fiber is better than lte and has been good for 90s',
  },
  {
    name: 'better uplink not yet good (verifying, no goodSince) → stay, even with delay 0',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { goodSince: undefined, failbackDelayMs: 0 }),
        cand('lte', 'backup', 20),
      ],
      current: 'lte',
      now: NOW,
    },
    order: ['lte', 'fiber'],
    selected: 'lte',
  },
  {
    name: 'failback delay 0 → switch as soon as it is good',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW, failbackDelayMs: 0 }), cand('lte', 'backup', 20)],
      current: 'lte',
      now: NOW,
    },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'fiber is better than lte and has been good for 0s',
  },
  {
    name: "the delay is the better uplink's, not the current's",
    in: {
      candidates: [
        cand('fiber', 'always', 10, { goodSince: NOW - 30_000, failbackDelayMs: 60_000 }),
        cand('lte', 'backup', 20, { failbackDelayMs: 0 }),
      ],
      current: 'lte',
      now: NOW,
    },
    order: ['lte', 'fiber'],
    selected: 'lte',
    reason: 'staying on lte: fiber must be good for 60s first',
  },
  {
    name: 'lower priority within the same mode also waits for the failback delay',
    in: {
      candidates: [cand('fiber', 'always', 10, { goodSince: NOW - 10_000 }), cand('dsl', 'always', 20)],
      current: 'dsl',
      now: NOW,
    },
    order: ['dsl', 'fiber'],
    selected: 'dsl',
    reason: 'staying on dsl: fiber must be good for 30s first',
  },

  // Degraded current, healthy other uplink.
  {
    name: 'degraded current, healthy backup good long enough → switch',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { healthy: false, goodSince: undefined }),
        cand('lte', 'backup', 20, { goodSince: NOW - 60_000 }),
      ],
      current: 'fiber',
      now: NOW,
    },
    order: ['lte', 'fiber'],
    selected: 'lte',
    reason: 'lte is better than fiber and has been good for 60s',
  },
  {
    name: 'degraded current, healthy backup not good long enough → stay',
    in: {
      candidates: [
        cand('fiber', 'always', 10, { healthy: false, goodSince: undefined }),
        cand('lte', 'backup', 20, { goodSince: NOW - 5_000 }),
      ],
      current: 'fiber',
      now: NOW,
    },
    order: ['fiber', 'lte'],
    selected: 'fiber',
    reason: 'staying on fiber: lte must be good for 30s first',
  },

  // Manual uplinks never picked automatically.
  {
    name: 'a usable manual uplink with the best priority is ignored',
    in: { candidates: [cand('sat', 'manual', 1), cand('lte', 'backup', 20)], current: 'lte', now: NOW },
    order: ['lte'],
    selected: 'lte',
    reason: 'lte is the best usable uplink',
  },

  // Order: selected first, then the rest by rank.
  {
    name: 'staying: current first, then the others by rank',
    in: {
      candidates: [
        cand('lte', 'backup', 5),
        cand('dsl', 'always', 20, { goodSince: NOW - 2_000 }),
        cand('fiber', 'always', 10, { goodSince: NOW - 1_000 }),
        cand('old', 'always', 1, { healthy: false, goodSince: undefined }),
      ],
      current: 'lte',
      now: NOW,
    },
    order: ['lte', 'fiber', 'dsl', 'old'],
    selected: 'lte',
    reason: 'staying on lte: fiber must be good for 30s first',
  },
  {
    name: 'the best is still proving itself, the second best has waited: move to the second best',
    in: {
      candidates: [
        cand('lte', 'backup', 5),
        cand('dsl', 'always', 20, { goodSince: NOW - 40_000 }),
        cand('fiber', 'always', 10, { goodSince: NOW - 1_000 }),
      ],
      current: 'lte',
      now: NOW,
    },
    order: ['dsl', 'fiber', 'lte'],
    selected: 'dsl',
    reason: 'dsl is better than lte and has been good for 40s',
  },
  {
    name: 'switching: new uplink first, then the others by rank',
    in: {
      candidates: [
        cand('lte', 'backup', 5),
        cand('dsl', 'always', 20),
        cand('fiber', 'always', 10, { goodSince: NOW - 31_000 }),
        cand('old', 'always', 1, { healthy: false, goodSince: undefined }),
      ],
      current: 'dsl',
      now: NOW,
    },
    order: ['fiber', 'dsl', 'lte', 'old'],
    selected: 'fiber',
    reason: 'fiber is better than dsl and has been good for 31s',
  },
];

test('selectUplinks: ranked ignores the failback delay that keeps the selection on a worse uplink', () => {
  const s = selectUplinks({
    candidates: [cand('fiber', 'always', 10, { goodSince: NOW - 1000 }), cand('lte', 'backup', 20)],
    current: 'lte',
    now: NOW,
  });
  assert.equal(s.selected, 'lte', 'fiber is still proving itself');
  assert.deepEqual(s.ranked, ['fiber', 'lte']);
});

for (const c of cases) {
  test(`selectUplinks: ${c.name}`, () => {
    const s = selectUplinks(c.in);
    assert.deepEqual(s.order, c.order);
    assert.equal(s.selected, c.selected);
    if (c.reason !== undefined) assert.equal(s.reason, c.reason);
    if (c.ranked !== undefined) assert.deepEqual(s.ranked, c.ranked);
  });
}
