import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus, type DaemonEvent } from '../../src/daemon/events.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import { FakeSystem } from '../../src/system/fake.js';
import { World } from '../../src/world/world.js';

const log = pino({ level: 'silent' });
const CONFIG = `
uplinks:
  wan1: { interface: wan1, priority: 10 }
  wan2: { interface: wan2, mode: backup, priority: 20 }
`;

async function loop(text = CONFIG) {
  const system = new FakeSystem();
  system.kernel.links.set(1, { index: 1, name: 'lo', up: true, carrier: true, operstate: 'unknown', mtu: 65536 });
  let config = parseConfigText(text, 'test.yaml');
  const bus = new EventBus();
  const events: DaemonEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let rec: Reconciler | undefined;
  const world = new World((r) => rec?.markDirty(r));
  rec = new Reconciler({ system, world, bus, log, config: () => config, coalesceMs: 1 });
  await system.kernelWatch().start(world);
  rec.start();
  await rec.settle();
  return { system, rec, world, events, setConfig: (t: string) => (config = parseConfigText(t, 'test.yaml')) };
}

test('reconcile creates each uplink table\'s unreachable default once, and a second run does nothing', async () => {
  const { system, rec, events } = await loop();
  assert.deepEqual(system.commands, [
    'ip route add unreachable 0.0.0.0/0 table 7301 proto 201 metric 4294967295',
    'ip route add unreachable ::/0 table 7301 proto 201 metric 4294967295',
    'ip route add unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295',
    'ip route add unreachable ::/0 table 7302 proto 201 metric 4294967295',
  ]);
  const runs = rec.runs;
  rec.markDirty('again');
  await rec.settle();
  assert.ok(rec.runs > runs, 'it ran again');
  assert.equal(system.commands.length, 4, 'and applied nothing');
  assert.ok(events.some((e) => e.type === 'reconcile' && e.commands.length === 4));
  await rec.stop();
});

test('a burst of dirty marks coalesces into one run', async () => {
  const { rec } = await loop();
  const before = rec.runs;
  for (let i = 0; i < 1000; i++) rec.markDirty(`burst ${i}`);
  await rec.settle();
  assert.equal(rec.runs - before, 1);
  await rec.stop();
});

test('a restarted daemon adopts our routes and deletes an unwanted one only once judged', async () => {
  const first = await loop();
  await first.rec.stop();
  // Same kernel, new daemon whose config dropped wan2.
  const system = first.system;
  system.commands.length = 0;
  const config = parseConfigText('uplinks:\n  wan1: { interface: wan1 }\n', 'test.yaml');
  let rec: Reconciler | undefined;
  const world = new World((r) => rec?.markDirty(r));
  rec = new Reconciler({ system, world, bus: new EventBus(), log, config: () => config, coalesceMs: 1 });
  await system.kernelWatch().start(world);
  rec.start();
  await rec.settle();
  assert.deepEqual(system.commands, [], 'nothing touched before the first round is judged');
  rec.setJudged();
  await rec.settle();
  assert.deepEqual(system.commands, [
    'ip route del unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295',
    'ip route del unreachable ::/0 table 7302 proto 201 metric 4294967295',
  ]);
  await rec.stop();
});

test('a failed apply is reported and retried', async () => {
  const system = new FakeSystem();
  system.failNext = 'RTNETLINK answers: No such process';
  const config = parseConfigText(CONFIG, 'test.yaml');
  const bus = new EventBus();
  const events: DaemonEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let rec: Reconciler | undefined;
  const world = new World((r) => rec?.markDirty(r));
  rec = new Reconciler({ system, world, bus, log, config: () => config, coalesceMs: 1, retryMs: 5 });
  await system.kernelWatch().start(world);
  rec.start();
  await rec.settle();
  assert.ok(events.some((e) => e.type === 'reconcile' && e.error?.includes('No such process')));
  assert.equal(system.commands.length, 4, 'the retry applied everything');
  await rec.stop();
});
