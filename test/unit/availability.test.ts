/** Uptime and downtime bookkeeping: each state's time goes to the right side, the current one included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { account, availabilityView, newAvailability } from '../../src/uplinks/availability.js';
import type { UplinkState } from '../../src/uplinks/state.js';

const cases: { name: string; steps: [UplinkState, number][]; now: [UplinkState, number]; want: object }[] = [
  { name: 'nothing passed yet', steps: [], now: ['verifying', 0], want: { upS: 0, downS: 0, upPct: undefined } },
  { name: 'verifying counts as down', steps: [], now: ['verifying', 10_000], want: { upS: 0, downS: 10, upPct: 0 } },
  {
    name: 'up 30 s then failed 10 s so far',
    steps: [
      ['verifying', 0],
      ['up', 30_000],
    ],
    now: ['failed', 40_000],
    want: { upS: 30, downS: 10, upPct: 75 },
  },
  {
    name: 'degraded is still up',
    steps: [
      ['up', 10_000],
      ['degraded', 20_000],
    ],
    now: ['failed', 20_000],
    want: { upS: 20, downS: 0, upPct: 100 },
  },
  {
    name: 'a clock step back books nothing negative',
    steps: [
      ['up', 10_000],
      ['up', 5_000],
    ],
    now: ['up', 12_000],
    want: { upS: 12, downS: 0, upPct: 100 },
  },
];

for (const c of cases)
  test(`availability: ${c.name}`, () => {
    const a = newAvailability(0);
    // Each step: the state the uplink was in until that moment.
    for (const [state, at] of c.steps) account(a, state, at);
    assert.deepEqual(availabilityView(a, c.now[0], c.now[1]), c.want);
  });
