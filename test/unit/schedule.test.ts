/**
 * The schedule: windows as a pure function of the local clock (crossing midnight, days, allow
 * adding up, DST days), cron moments never replayed nor fired twice, config errors, and the
 * component firing an action at a minute boundary and holding an uplink on a real timer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { checkConfigText, parseConfigText } from '../../src/config/load.js';
import type { ScheduleConfig } from '../../src/config/schema.js';
import { EventBus } from '../../src/events/bus.js';
import { cronOf, dueBetween, MAX_CATCH_UP_MS, nextRun } from '../../src/schedule/cron.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { heldNow, inWindow, localTime } from '../../src/schedule/windows.js';

const MON = 1;
const hm = (h: number, m = 0) => h * 60 + m;

test('windows: inside or not, by local day and minute (table)', () => {
  const cases: [string, string[] | undefined, number, number, boolean][] = [
    ['22:00-06:00', undefined, MON, hm(23), true],
    ['22:00-06:00', undefined, MON, hm(5, 59), true],
    ['22:00-06:00', undefined, MON, hm(6), false],
    ['22:00-06:00', undefined, MON, hm(21, 59), false],
    // Crossing midnight belongs to the day it starts on: Friday night reaches into Saturday.
    ['22:00-06:00', ['fri'], 6, hm(3), true],
    ['22:00-06:00', ['fri'], 5, hm(3), false],
    ['22:00-06:00', ['fri'], 5, hm(22, 30), true],
    ['22:00-06:00', ['sun'], 0, hm(2), false],
    ['22:00-06:00', ['sat'], 0, hm(2), true],
    ['08:00-18:00', ['mon', 'tue'], MON, hm(8), true],
    ['08:00-18:00', ['mon', 'tue'], MON, hm(18), false],
    ['08:00-18:00', ['mon', 'tue'], 3, hm(12), false],
    ['00:00-24:00', ['sun'], 0, hm(23, 59), true],
    ['00:00-24:00', ['sun'], MON, hm(0), false],
  ];
  for (const [span, days, day, minute, want] of cases)
    assert.equal(
      inWindow(span, days, { day, minute }),
      want,
      `${span} ${days ?? 'every day'} day ${day} minute ${minute}`,
    );
});

test('windows: deny holds, allow holds outside every allow of that uplink, others are free', () => {
  const s = [
    { deny: '22:00-06:00', uplink: 'dsl' },
    { allow: '08:00-12:00', uplink: 'lte' },
    { allow: '14:00-18:00', uplink: 'lte' },
    { cron: '30 7 * * 1-5', action: 'up', uplink: 'office' },
  ] as ScheduleConfig[];
  const at = (h: number) => heldNow(s, { day: MON, minute: hm(h) });
  assert.deepEqual([...at(23).keys()].sort(), ['dsl', 'lte']);
  assert.deepEqual([...at(9).keys()], []);
  assert.deepEqual([...at(13).keys()], ['lte']);
  assert.match(at(13).get('lte')!, /outside allow window 08:00-12:00, 14:00-18:00/);
  assert.match(at(23).get('dsl')!, /deny window 22:00-06:00/);
});

test('local time follows the zone, DST included', () => {
  // 2026-03-29 is the spring-forward Sunday in Europe/Berlin: 02:00 CET becomes 03:00 CEST.
  assert.deepEqual(localTime(Date.parse('2026-03-29T00:59:00Z'), 'Europe/Berlin'), { day: 0, minute: hm(1, 59) });
  assert.deepEqual(localTime(Date.parse('2026-03-29T01:00:00Z'), 'Europe/Berlin'), { day: 0, minute: hm(3) });
  assert.deepEqual(localTime(Date.parse('2026-12-07T06:30:00Z'), 'Europe/Berlin'), { day: MON, minute: hm(7, 30) });
  assert.deepEqual(localTime(Date.parse('2026-12-07T06:30:00Z'), 'UTC'), { day: MON, minute: hm(6, 30) });
  // A window inside the skipped hour is never entered that night; the state stays a function of the clock.
  const s = [{ deny: '02:00-02:30', uplink: 'x' }] as ScheduleConfig[];
  for (let t = Date.parse('2026-03-29T00:00:00Z'); t < Date.parse('2026-03-29T02:00:00Z'); t += 60_000)
    assert.equal(heldNow(s, localTime(t, 'Europe/Berlin')).size, 0);
});

test('cron: 07:30 on weekdays in the zone, across DST; a time skipped by DST fires at 03:00', () => {
  const c = cronOf('30 7 * * 1-5', 'Europe/Berlin');
  assert.equal(new Date(nextRun(c, Date.parse('2026-12-05T12:00:00Z'))!).toISOString(), '2026-12-07T06:30:00.000Z');
  assert.equal(new Date(nextRun(c, Date.parse('2026-03-27T12:00:00Z'))!).toISOString(), '2026-03-30T05:30:00.000Z');
  const skipped = cronOf('30 2 * * *', 'Europe/Berlin');
  assert.equal(
    new Date(nextRun(skipped, Date.parse('2026-03-28T12:00:00Z'))!).toISOString(),
    '2026-03-29T01:00:00.000Z',
  );
});

test('cron: due once in (from, to]; never replayed after a jump or a step back', () => {
  const s = [
    { cron: '30 7 * * *', action: 'up', uplink: 'a' },
    { deny: '22:00-06:00', uplink: 'a' },
  ] as ScheduleConfig[];
  const crons = new Map([[0, cronOf('30 7 * * *', 'UTC')]]);
  const at = Date.parse('2026-12-07T07:30:00Z');
  assert.deepEqual(dueBetween(s, crons, at - 60_000, at + 5), [0]);
  assert.deepEqual(dueBetween(s, crons, at, at + 59_000), [], 'not twice');
  assert.deepEqual(dueBetween(s, crons, at - 61_000, at - 1), [], 'not early');
  assert.deepEqual(dueBetween(s, crons, at + 5, at - 3600_000), [], 'clock stepped back');
  assert.deepEqual(
    dueBetween(s, crons, at - MAX_CATCH_UP_MS - 1, at + 5),
    [],
    'a long jump (boot, suspend) replays nothing',
  );
});

test('config: cron and window entries are checked with hints', () => {
  const bad = (schedule: string, want: RegExp) => {
    const r = checkConfigText(
      `uplinks: { a: { interface: eth0 }, d: { interface: ppp0, mode: demand, connect: pppd } }\nschedule:\n${schedule}\n`,
      'c.yaml',
    );
    assert.ok(r.problems.length, schedule);
    assert.match(r.problems.map((p) => `${p.message} ${p.hint ?? ''}`).join('\n'), want, schedule);
  };
  bad('  - { cron: "61 * * * *", action: up, uplink: a }', /not a valid cron/);
  bad('  - { cron: "* * * *", action: up, uplink: a }', /4 fields, not 5/);
  bad('  - { cron: "30 7 * * *", uplink: a }', /needs an action/);
  // An action that is no action is reported as such, never quoted into another check's words.
  for (const action of ['{}', '{ x: 1 }', '[]', '[up]', '7', 'null', 'sideways']) {
    const r = checkConfigText(
      `uplinks: { a: { interface: eth0 } }\nschedule:\n  - { cron: "30 7 * * *", action: ${action} }\n`,
      'c.yaml',
    );
    const said = r.problems.map((p) => `${p.path}: ${p.message}`);
    assert.ok(said.length > 0, action);
    assert.ok(
      said.every((m) => m.startsWith('schedule[0].action') && !/\[object |undefined|null needs/.test(m)),
      `${action}: ${said.join(' | ')}`,
    );
  }
  bad('  - { cron: "30 7 * * *", action: unforce, uplink: a }', /unforce takes no uplink/);
  bad('  - { cron: "30 7 * * *", action: demand_on, uplink: a }', /demand_on needs a demand uplink/);
  bad('  - { deny: "22:00-06:00" }', /a window needs an uplink/);
  bad('  - { deny: "22:00", uplink: a }', /not a time span/);
  bad('  - { deny: "25:00-06:00", uplink: a }', /not a time span/);
  bad('  - { deny: "06:00-06:00", uplink: a }', /starts where it ends/);
  bad('  - { deny: "22:00-06:00", allow: "08:00-09:00", uplink: a }', /one of cron, deny, allow/);
  bad('  - { deny: "22:00-06:00", action: up, uplink: a }', /a window takes no action/);
  bad('  - { deny: "22:00-06:00", uplink: nope }', /unknown uplink "nope"/);
  bad('  - { deny: "22:00-06:00", days: [monday], uplink: a }', /"monday" is not allowed here use one of: sun, mon/);
  const ok = parseConfigText(
    'uplinks: { d: { interface: ppp0, mode: demand, connect: pppd } }\ntimezone: Europe/Berlin\nschedule:\n  - { cron: "30 7 * * 1-5", action: demand_on, uplink: d }\n  - { deny: "22:00-06:00", days: [mon, fri], uplink: d }\n  - { cron: "@daily", action: unforce }\n',
    'c.yaml',
  );
  assert.equal(ok.schedule.length, 3);
});

test('the scheduler fires at the minute boundary and holds at start inside a window', async (t) => {
  // The schedule clock reads 07:29:59.6 on a Monday (UTC): the cron moment is 0.4 s away.
  const offset = Date.parse('2026-12-07T07:29:59.600Z') - Date.now();
  const cfg = parseConfigText(
    'uplinks: { a: { interface: eth0, mode: manual } }\ntimezone: UTC\nschedule:\n  - { cron: "30 7 * * 1-5", action: up, uplink: a }\n  - { deny: "07:00-07:30", uplink: a }\n',
    'c.yaml',
  );
  const acted: string[] = [];
  const holds: string[][] = [];
  const bus = new EventBus();
  const s = new Scheduler({
    config: () => cfg,
    clock: () => Date.now() + offset,
    bus,
    log: pino({ level: 'silent' }),
    act: async (e) => {
      acted.push(`${e.action} ${e.uplink}`);
      return 'done';
    },
    hold: (h) => holds.push([...h.keys()]),
  });
  t.after(() => s.stop());
  await s.start();
  assert.deepEqual(holds, [['a']], 'held at once: started inside the deny window');
  assert.deepEqual(acted, []);
  await new Promise((r) => setTimeout(r, 900));
  assert.deepEqual(acted, ['up a'], 'fired once, at 07:30');
  assert.deepEqual(holds.at(-1), [], 'released at 07:30');
  const types = bus.history().map((e) => (e.type === 'schedule' ? `${e.action} ${e.ok}` : e.type));
  assert.deepEqual(types, ['hold true', 'release true', 'up true']);
  assert.equal(s.view().entries[0]!.next, '2026-12-08T07:30:00.000Z');
});

test('without a schedule the scheduler never asks for time zone rules (ICU data costs ~5 MB once touched)', async (t) => {
  const cfg = parseConfigText('uplinks: { a: { interface: eth0, mode: manual } }\n', 'c.yaml');
  const real = Intl.DateTimeFormat;
  let asked = 0;
  const spy = function (this: unknown, ...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
    asked++;
    return new real(...args);
  } as unknown as typeof Intl.DateTimeFormat;
  Intl.DateTimeFormat = spy;
  t.after(() => {
    Intl.DateTimeFormat = real;
  });
  const holds: number[] = [];
  const s = new Scheduler({
    config: () => cfg,
    clock: () => Date.now(),
    bus: new EventBus(),
    log: pino({ level: 'silent' }),
    act: async () => 'done',
    hold: (h) => holds.push(h.size),
  });
  t.after(() => s.stop());
  await s.start();
  s.sync(); // as after a reload
  assert.equal(asked, 0, 'Intl.DateTimeFormat was used');
  assert.deepEqual(holds, [0, 0], 'still told, once per look, that nothing is held');
});
