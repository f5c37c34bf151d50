/**
 * Re-dial policy (src/uplinks/redial.ts), table-driven with literal inputs.
 * Pins docs/uplinks.md: `holdoff` applies after the peer or the driver hung up, never after an idle
 * hang-up; the minimum interval between dial starts defaults to 0; backoff doubles up to
 * max_backoff; `retries` counts re-dials after the first dial (omitted: re-dial forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaveUp, nextDialAt, type RedialInput } from '../../src/uplinks/redial.js';

const NOW = 1_000_000;
// The documented defaults: backoff 10s, max_backoff 10m, holdoff 30s, min_interval 0.
const P = { backoff: 10_000, max_backoff: 600_000, holdoff: 30_000, min_interval: 0 };
// Same without holdoff: isolates the backoff schedule.
const P0 = { backoff: 10_000, max_backoff: 600_000, holdoff: 0, min_interval: 0 };

interface NextCase {
  name: string;
  in: RedialInput;
  want: number;
  todo?: string;
}

const nextCases: NextCase[] = [
  { name: 'first dial: now', in: { policy: P, failures: 0, hangup: 'none', now: NOW }, want: NOW },

  // Backoff: backoff · 2^(failures-1), capped at max_backoff.
  { name: '1 failure → backoff', in: { policy: P0, failures: 1, hangup: 'peer', now: NOW }, want: NOW + 10_000 },
  { name: '2 failures → 2 × backoff', in: { policy: P0, failures: 2, hangup: 'peer', now: NOW }, want: NOW + 20_000 },
  { name: '3 failures → 4 × backoff', in: { policy: P0, failures: 3, hangup: 'peer', now: NOW }, want: NOW + 40_000 },
  { name: '6 failures → 32 × backoff', in: { policy: P0, failures: 6, hangup: 'peer', now: NOW }, want: NOW + 320_000 },
  {
    name: '7 failures → capped at max_backoff (640 s > 600 s)',
    in: { policy: P0, failures: 7, hangup: 'peer', now: NOW },
    want: NOW + 600_000,
  },
  {
    name: '50 failures → max_backoff',
    in: { policy: P0, failures: 50, hangup: 'peer', now: NOW },
    want: NOW + 600_000,
  },
  {
    name: '5000 failures (2^n overflows to Infinity) → still max_backoff',
    in: { policy: P0, failures: 5000, hangup: 'peer', now: NOW },
    want: NOW + 600_000,
  },
  {
    name: 'max_backoff = backoff → constant',
    in: {
      policy: { backoff: 5_000, max_backoff: 5_000, holdoff: 0, min_interval: 0 },
      failures: 4,
      hangup: 'peer',
      now: NOW,
    },
    want: NOW + 5_000,
  },

  // Holdoff after the peer hung up.
  {
    name: 'peer hung up a link that was up (no failure) → holdoff',
    in: { policy: P, failures: 0, hangup: 'peer', now: NOW },
    want: NOW + 30_000,
  },
  {
    name: 'peer hang-up, backoff shorter than holdoff → holdoff',
    in: { policy: P, failures: 1, hangup: 'peer', now: NOW },
    want: NOW + 30_000,
  },
  {
    name: 'peer hang-up, backoff longer than holdoff → backoff',
    in: { policy: P, failures: 3, hangup: 'peer', now: NOW },
    want: NOW + 40_000,
  },
  { name: 'peer hang-up, holdoff 0 → now', in: { policy: P0, failures: 0, hangup: 'peer', now: NOW }, want: NOW },

  // Never after an idle hang-up.
  { name: 'idle hang-up → no holdoff', in: { policy: P, failures: 0, hangup: 'idle', now: NOW }, want: NOW },
  {
    name: 'idle hang-up with a long holdoff → still no holdoff',
    in: { policy: { ...P, holdoff: 3_600_000 }, failures: 0, hangup: 'idle', lastDialAt: NOW - 600_000, now: NOW },
    want: NOW,
  },

  // The driver hung up (probes failed, connect timed out): DESIGN says holdoff applies.
  {
    name: 'driver hung up after failed probes → holdoff',
    in: { policy: P, failures: 1, hangup: 'probe', now: NOW },
    want: NOW + 30_000,
  },
  {
    name: 'driver hung up after the connect timeout → holdoff',
    in: { policy: P, failures: 1, hangup: 'timeout', now: NOW },
    want: NOW + 30_000,
  },

  // Minimum interval between the starts of two dials.
  {
    name: 'min_interval 0 (default) → no wait after a dial that just started',
    in: { policy: P, failures: 0, hangup: 'idle', lastDialAt: NOW, now: NOW },
    want: NOW,
  },
  {
    name: 'min_interval not yet elapsed since the last dial start → wait for it',
    in: { policy: { ...P, min_interval: 60_000 }, failures: 0, hangup: 'idle', lastDialAt: NOW - 10_000, now: NOW },
    want: NOW + 50_000,
  },
  {
    name: 'min_interval already elapsed → now',
    in: { policy: { ...P, min_interval: 60_000 }, failures: 0, hangup: 'idle', lastDialAt: NOW - 90_000, now: NOW },
    want: NOW,
  },
  {
    name: 'min_interval longer than backoff → min_interval wins',
    in: { policy: { ...P0, min_interval: 60_000 }, failures: 1, hangup: 'peer', lastDialAt: NOW - 5_000, now: NOW },
    want: NOW + 55_000,
  },
  {
    name: 'backoff longer than min_interval → backoff wins',
    in: { policy: { ...P0, min_interval: 20_000 }, failures: 3, hangup: 'peer', lastDialAt: NOW - 5_000, now: NOW },
    want: NOW + 40_000,
  },
  {
    name: 'holdoff longer than the rest of min_interval → holdoff wins',
    in: { policy: { ...P, min_interval: 60_000 }, failures: 0, hangup: 'peer', lastDialAt: NOW - 50_000, now: NOW },
    want: NOW + 30_000,
  },
  {
    name: 'rest of min_interval longer than holdoff → min_interval wins',
    in: { policy: { ...P, min_interval: 120_000 }, failures: 0, hangup: 'peer', lastDialAt: NOW - 50_000, now: NOW },
    want: NOW + 70_000,
  },
];

for (const c of nextCases) {
  test(`nextDialAt: ${c.name}`, c.todo ? { todo: c.todo } : {}, () => {
    assert.equal(nextDialAt(c.in), c.want);
  });
}

const gaveUpCases: { retries: number | undefined; failures: number; want: boolean }[] = [
  // retries = 2: the first dial and 2 re-dials may fail; the 3rd failure gives up.
  { retries: 2, failures: 0, want: false },
  { retries: 2, failures: 1, want: false },
  { retries: 2, failures: 2, want: false },
  { retries: 2, failures: 3, want: true },
  { retries: 2, failures: 4, want: true },
  // retries = 0: block after the first failure.
  { retries: 0, failures: 0, want: false },
  { retries: 0, failures: 1, want: true },
  { retries: 5, failures: 5, want: false },
  { retries: 5, failures: 6, want: true },
  // Omitted: re-dial forever.
  { retries: undefined, failures: 0, want: false },
  { retries: undefined, failures: 1, want: false },
  { retries: undefined, failures: 3, want: false },
  { retries: undefined, failures: 1_000_000, want: false },
];

for (const c of gaveUpCases) {
  test(`gaveUp: retries ${c.retries ?? 'omitted'}, ${c.failures} failure(s) → ${c.want}`, () => {
    assert.equal(gaveUp({ ...P, retries: c.retries }, c.failures), c.want);
  });
}
