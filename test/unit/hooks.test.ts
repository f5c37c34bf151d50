/**
 * Hooks on the fake System: which events a daemon event means (table-driven), one queue per
 * uplink (one running, one waiting, a newer event replaces the waiting one), uplinks in
 * parallel, the environment, the timeout, refused files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus, type EventInput } from '../../src/events/bus.js';
import { hookTriggers } from '../../src/hooks/events.js';
import { Hooks } from '../../src/hooks/hooks.js';
import { FakeSystem, type FakeProcess } from '../../src/system/fake.js';
import type { SuperviseOptions } from '../../src/system/system.js';

const at = { time: '2026-12-02T00:00:00.000Z' };
const ev = (e: EventInput) => ({ ...e, ...at }) as Parameters<typeof hookTriggers>[0];

const CASES: [string, EventInput, string[]][] = [
  [
    'verifying → up',
    { type: 'uplink', name: 'a', event: 'state', state: 'up', prev: 'verifying', reason: '' },
    ['a up'],
  ],
  ['degraded → up', { type: 'uplink', name: 'a', event: 'state', state: 'up', prev: 'degraded', reason: '' }, ['a up']],
  [
    'up → degraded',
    { type: 'uplink', name: 'a', event: 'state', state: 'degraded', prev: 'up', reason: '' },
    ['a degraded'],
  ],
  ['up → failed', { type: 'uplink', name: 'a', event: 'state', state: 'failed', prev: 'up', reason: '' }, ['a down']],
  [
    'degraded → disabled',
    { type: 'uplink', name: 'a', event: 'state', state: 'disabled', prev: 'degraded', reason: '' },
    ['a down'],
  ],
  [
    'down → verifying: nothing yet',
    { type: 'uplink', name: 'a', event: 'state', state: 'verifying', prev: 'down', reason: '' },
    [],
  ],
  [
    'failed → down: was not carrying',
    { type: 'uplink', name: 'a', event: 'state', state: 'down', prev: 'failed', reason: '' },
    [],
  ],
  ['a dial', { type: 'uplink', name: 'a', event: 'dial', state: 'connecting', reason: '' }, ['a dial']],
  ['the selection moves', { type: 'selection', selected: 'b', prev: 'a', reason: '' }, ['a unselected', 'b selected']],
  ['the first selection', { type: 'selection', selected: 'b', reason: '' }, ['b selected']],
  ['a hang-up', { type: 'demand', name: 'dsl', event: 'hangup', message: '' }, ['dsl hangup']],
  ['a demand dial is the uplink dial', { type: 'demand', name: 'dsl', event: 'dial', message: '' }, []],
  ['a kernel event', { type: 'daemon', message: 'x' }, []],
];

for (const [name, e, want] of CASES) {
  test(`hook triggers: ${name}`, () => {
    assert.deepEqual(
      hookTriggers(ev(e)).map((t) => `${t.uplink} ${t.event}`),
      want,
    );
  });
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(timeout = '30s') {
  const system = new FakeSystem();
  const bus = new EventBus();
  const cfg = parseConfigText(
    `control: { run_dir: /fake/run }\nuplinks:\n  a: { interface: eth0 }\n  b: { interface: eth1, mode: backup }\nhooks: { dir: /fake/hooks, timeout: ${timeout} }\n`,
    't.yaml',
  );
  system.hooks.set('/fake/hooks', [{ path: '/fake/hooks/10-x' }, { path: '/fake/hooks/20-y' }]);
  const hooks = new Hooks({
    config: () => cfg,
    system,
    bus,
    log: pino({ level: 'silent' }),
    uplink: (n) => ({
      iface: n === 'a' ? 'eth0' : 'eth1',
      state: 'up',
      address: '198.51.100.2',
      gateway: '198.51.100.1',
    }),
  });
  const state = (name: string, state: string, prev: string) =>
    bus.publish({ type: 'uplink', name, event: 'state', state, prev, reason: '' });
  return { system, bus, hooks, state };
}
const procs = (s: FakeSystem) => s.processes as FakeProcess[];
const command = (p: FakeProcess) => (p.o as SuperviseOptions).command;
/** Lets every hook still running end, then stops the component. */
async function finish(system: FakeSystem, hooks: Hooks) {
  for (let i = 0; i < 10; i++) {
    for (const p of procs(system)) p.exit(0);
    await tick();
  }
  await hooks.stop();
}

test('hooks: name order, the environment, one event at a time per uplink, the newest waiting one wins', async () => {
  const { system, hooks, state } = setup();
  await hooks.start();
  state('a', 'up', 'verifying');
  await tick();
  assert.equal(system.processes.length, 1);
  const p0 = procs(system)[0]!;
  assert.match(command(p0), /10-x' 'up'$/);
  assert.deepEqual(p0.o.env, {
    UPLINK: 'a',
    IFACE: 'eth0',
    EVENT: 'up',
    STATE: 'up',
    PREV_STATE: 'verifying',
    ADDRESS: '198.51.100.2',
    GATEWAY: '198.51.100.1',
  });
  // While a's hooks run, three more events: only the newest waits.
  state('a', 'failed', 'up');
  state('a', 'up', 'failed');
  state('a', 'degraded', 'up');
  // b runs in parallel.
  state('b', 'up', 'verifying');
  await tick();
  assert.equal(system.processes.length, 2);
  assert.equal(procs(system)[1]!.o.env?.UPLINK, 'b');
  p0.exit(0);
  await tick();
  assert.match(command(procs(system)[2]!), /20-y' 'up'$/, 'the next hook of the same event');
  procs(system)[2]!.exit(0);
  await tick();
  await tick();
  assert.equal(procs(system)[3]!.o.env?.EVENT, 'degraded', 'the newest waiting event, the stale ones dropped');
  assert.equal(hooks.view().dropped, 2);
  await finish(system, hooks);
});

test('hooks: a hook past the timeout is stopped (its process group), and the queue goes on', async () => {
  const { system, hooks, state } = setup('100ms');
  await hooks.start();
  state('a', 'up', 'verifying');
  await tick();
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(procs(system)[0]!.stops.length, 1, 'stopped at the timeout');
  await tick();
  assert.equal(system.processes.length, 2, 'the next hook runs');
  await finish(system, hooks);
});

test('hooks: a refused file is reported and skipped', async () => {
  const { system, hooks, state } = setup();
  system.hooks.set('/fake/hooks', [
    { path: '/fake/hooks/10-bad', problem: 'refused: /fake/hooks/10-bad is writable by others' },
  ]);
  await hooks.start();
  state('a', 'up', 'verifying');
  await tick();
  assert.equal(system.processes.length, 0);
  assert.deepEqual(hooks.view().refused, [
    { path: '/fake/hooks/10-bad', problem: 'refused: /fake/hooks/10-bad is writable by others' },
  ]);
  await finish(system, hooks);
});

test("hooks: pppd-style ip-up.d runs after the hooks with pppd's arguments", async () => {
  const system = new FakeSystem();
  const bus = new EventBus();
  const cfg = parseConfigText(
    'control: { run_dir: /fake/run }\nuplinks:\n  a: { interface: ppp0 }\nhooks: { dir: /fake/hooks, ip_up_dir: /etc/ppp/ip-up.d }\n',
    't.yaml',
  );
  system.hooks.set('/etc/ppp/ip-up.d', [{ path: '/etc/ppp/ip-up.d/0000usepeerdns' }]);
  const hooks = new Hooks({
    config: () => cfg,
    system,
    bus,
    log: pino({ level: 'silent' }),
    uplink: () => ({ iface: 'ppp0', state: 'up', address: '10.64.3.9', gateway: '10.64.0.1' }),
  });
  await hooks.start();
  bus.publish({ type: 'uplink', name: 'a', event: 'state', state: 'up', prev: 'verifying', reason: '' });
  await tick();
  assert.deepEqual((procs(system)[0]!.o as SuperviseOptions).argv, [
    '/etc/ppp/ip-up.d/0000usepeerdns',
    'ppp0',
    '',
    '0',
    '10.64.3.9',
    '10.64.0.1',
    'a',
  ]);
  bus.publish({ type: 'uplink', name: 'a', event: 'state', state: 'failed', prev: 'up', reason: '' });
  await finish(system, hooks);
  assert.equal(system.processes.length, 1, 'no ip_down_dir: nothing on down');
});

test('hooks: a daemon stop ends the hooks still running and runs no waiting one', async () => {
  const { system, hooks, state } = setup();
  await hooks.start();
  state('a', 'up', 'verifying');
  state('a', 'failed', 'up');
  await tick();
  await hooks.stop();
  assert.equal(procs(system)[0]!.stops.length, 1, 'the running hook was stopped');
  assert.equal(system.processes.length, 1, 'neither its next file nor the waiting event ran');
});
