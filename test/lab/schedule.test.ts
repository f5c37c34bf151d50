/**
 * The schedule in the demand lab, with the daemon's schedule clock started just before the
 * moment (UPLINKD_SCHEDULE_CLOCK): a cron entry brings the office link up at 07:30 on a Monday,
 * and a deny window 22:00–06:00 stops demand dialing in a daemon started inside it, until 06:00.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor, type Ns } from '../../src/lab/harness.js';
import { eventsOfType, startDaemon, type RunningDaemon } from '../../src/lab/daemon.js';
import { demandConfig, demandTopology, type DemandTopology } from '../../src/lab/demand.js';
import { SERVER } from '../../src/lab/topology.js';
import type { Status } from '../../src/control/status.js';

const dsl = (s: Status) => s.uplinks.find((u) => u.name === 'dsl')!;
const dials = async (d: RunningDaemon) => dsl(await d.status()).dial?.attempts ?? 0;
const ping = (lan: Ns) => lan.exec(['ping', '-c', '1', '-W', '1', SERVER], { check: false });

const scheduleEvents = (d: RunningDaemon) => eventsOfType(d, 'schedule');

function start(lab: Parameters<typeof startDaemon>[0], topo: DemandTopology, yaml: string, clock: string) {
  return startDaemon(lab, topo.gw, yaml, { env: { UPLINKD_SCHEDULE_CLOCK: clock } });
}

test('schedule: "30 7 * * 1-5" brings a manual link up at 07:30 on a Monday, not before', async (t) => {
  const lab = await labForTest(t);
  const topo = await demandTopology(lab);
  const yaml = demandConfig(topo, {
    extra: 'timezone: Europe/Berlin\nschedule:\n  - { cron: "30 7 * * 1-5", action: up, uplink: dsl }\n',
  })
    .replace('mode: demand', 'mode: manual')
    .replace(/ {4}idle: .*\n/, '');
  // Monday 2026-12-07, 07:29:55 in Berlin (CET, +01:00).
  const d = await start(lab, topo, yaml, '2026-12-07T07:29:55+01:00');
  const before = await d.status();
  assert.equal(dsl(before).dial?.attempts ?? 0, 0, 'nothing dials before 07:30');
  assert.match(before.schedule.entries[0]!.next ?? '', /^2026-12-07T06:30:00/);
  await waitFor(async () => dsl(await d.status()).state === 'up', { timeoutMs: 20_000, what: 'dsl up after 07:30' });
  const ev = (await scheduleEvents(d)).filter((e) => e.action === 'up');
  assert.equal(ev.length, 1);
  assert.ok(ev[0]!.ok, ev[0]!.message);
  assert.equal((await ping(topo.lan)).code, 0, 'the LAN reaches the server through the scheduled link');
  // Persisted like `uplink up`: the next moment is tomorrow.
  assert.match((await d.status()).schedule.entries[0]!.next ?? '', /^2026-12-08T06:30:00/);
});

test('schedule: a daemon started inside a deny window does not dial on demand until the window ends', async (t) => {
  const lab = await labForTest(t);
  const topo = await demandTopology(lab);
  const yaml = demandConfig(topo, {
    extra: 'timezone: Europe/Berlin\nschedule:\n  - { deny: "22:00-06:00", uplink: dsl }\n',
  });
  // Tuesday 05:59:48 in Berlin: 12 s of window left.
  const d = await start(lab, topo, yaml, '2026-12-08T05:59:48+01:00');
  const s = await d.status();
  assert.equal(dsl(s).state, 'blocked');
  assert.match(dsl(s).reason ?? '', /held by the schedule: deny window 22:00-06:00/);
  assert.ok(s.schedule.held.dsl, 'status says the window holds it');
  assert.notEqual((await ping(topo.lan)).code, 0, 'no dial for LAN traffic inside the window');
  await sleep(1500);
  assert.equal(await dials(d), 0, 'traffic inside the window never dialed');
  await waitFor(async () => (await scheduleEvents(d)).some((e) => e.action === 'release'), {
    timeoutMs: 20_000,
    what: 'the window released at 06:00',
  });
  await waitFor(async () => (await ping(topo.lan)).code === 0, {
    timeoutMs: 20_000,
    what: 'traffic dials after 06:00',
  });
  assert.ok((await dials(d)) >= 1);
});
