/**
 * Metrics bookkeeping: status counters never go down when their source restarts (a reload
 * rebuilds a prober), and a failover is timed from the selected uplink's loss to the switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics, Monotonic } from '../../src/control/http/metrics.js';
import type { Status } from '../../src/control/status.js';
import type { DaemonEvent } from '../../src/events/bus.js';

test('monotonic: a source restart is carried as an offset, per label set', () => {
  const m = new Monotonic();
  const a = { uplink: 'wan1' };
  const b = { uplink: 'wan2' };
  assert.deepEqual(
    [m.value(a, 5), m.value(b, 1), m.value(a, 9), m.value(a, 2), m.value(a, 3), m.value(b, 4)],
    [5, 1, 9, 11, 12, 4],
  );
});

const ev = (e: object) => ({ time: new Date().toISOString(), ...e }) as DaemonEvent;

test('failovers: counted when the selected uplink stops carrying and traffic moves; not for an admin move', async () => {
  const status = { selection: { selected: 'wan1' }, uplinks: [], jobs: [], daemon: {} } as unknown as Status;
  const m = new Metrics(() => status);
  m.syncSelection();
  // Event-counted: read the counter itself (a scrape would need a whole status).
  const counter = (m as unknown as { failovers: { get(): Promise<{ values: { value: number }[] }> } }).failovers;
  const failovers = async () => (await counter.get()).values[0]?.value ?? 0;
  // degraded → up, later a forced move: no failover.
  m.onEvent(ev({ type: 'uplink', event: 'state', name: 'wan1', prev: 'up', state: 'degraded', reason: 'x' }));
  m.onEvent(ev({ type: 'uplink', event: 'state', name: 'wan1', prev: 'degraded', state: 'up', reason: 'x' }));
  m.onEvent(ev({ type: 'selection', prev: 'wan1', selected: 'wan2', reason: 'forced' }));
  assert.equal(await failovers(), 0);
  // wan2 (selected) degraded → failed, then the switch: one failover.
  m.onEvent(ev({ type: 'uplink', event: 'state', name: 'wan2', prev: 'degraded', state: 'failed', reason: 'x' }));
  m.onEvent(ev({ type: 'selection', prev: 'wan2', selected: 'wan1', reason: 'wan2 is not usable' }));
  assert.equal(await failovers(), 1);
});
