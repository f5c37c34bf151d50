/** The daemon's loop wired to the fake System: kernel → world → uplinks → selection → routes and rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus, type DaemonEvent } from '../../src/events/bus.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import type { FakeSystem } from '../../src/system/fake.js';
import { kernelWithTwoUplinks, link, until } from './fixtures.js';
import { UplinkManager } from '../../src/uplinks/manager.js';
import { loadState, stateFile } from '../../src/uplinks/persist.js';
import { World } from '../../src/world/world.js';

const log = pino({ level: 'silent' });
const uplinks = (extra = '') => `
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, probe: { profile: fast }, failback_delay: 0s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1, probe: { profile: fast } }
${extra}`;

async function loop(
  t: { after(fn: () => unknown): void },
  system = kernelWithTwoUplinks(),
  text = uplinks(),
  dir?: string,
) {
  const stateDir = dir ?? mkdtempSync(join(tmpdir(), 'uplinkd-unit-'));

  let config = parseConfigText(`control: { state_dir: ${stateDir} }\n${text}`, 'test.yaml');
  const bus = new EventBus();
  const events: DaemonEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let rec: Reconciler | undefined;
  const world = new World((r) => rec?.markDirty(r));
  const manager = new UplinkManager({
    config: () => config,
    system: system as never,
    bus,
    log,
    stateFile: stateFile(stateDir),
    onDirty: (w) => rec?.markDirty(w),
  });
  rec = new Reconciler({
    system: system as never,
    world,
    manager,
    bus,
    log,
    config: () => config,
    coalesceMs: 1,
    retryMs: 5,
  });
  await system.kernelWatch().start(world);
  await manager.start();
  rec.start();
  const stop = async () => {
    await rec!.stop();
    await manager.stop();
  };
  t.after(stop);
  // After stop: a stopping manager writes the state file one last time.
  if (!dir) t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const reload = (next: string) => {
    config = parseConfigText(`control: { state_dir: ${stateDir} }\n${next}`, 'test.yaml');
    manager.sync();
    rec!.markDirty('reload');
  };
  return { system, rec, manager, events, stateDir, stop, reload };
}

const selectionRoute = (s: FakeSystem, metric: number) =>
  [...s.kernel.routes.values()].find((r) => r.table === 7300 && r.metric === metric)?.gateway;

test('the loop builds tables, rules and the selection; a second run changes nothing', async (t) => {
  const { system, rec, manager } = await loop(t);
  await until(
    'wan1 selected',
    () => manager.selection.selected === 'wan1' && selectionRoute(system, 100) === '198.51.100.1',
  );
  await rec.settle();
  assert.equal(selectionRoute(system, 101), '203.0.113.1', 'the backup is the next candidate');
  assert.ok(system.commands.includes('ip -4 rule add priority 7310 from 198.51.100.2/32 lookup 7301 protocol 201'));
  assert.ok(system.commands.includes('ip -4 rule add priority 7300 lookup 254 suppress_prefixlength 0 protocol 201'));
  assert.equal(system.sysctls.get('net/ipv4/conf/wan1/ignore_routes_with_linkdown'), '1');
  const n = system.commands.length;
  rec.markDirty('again');
  await rec.settle();
  assert.equal(system.commands.length, n, 'idempotent');
  assert.ok(rec.isJudged());
});

test('probes failing on wan1 move the default to wan2; recovery moves it back', async (t) => {
  const system = kernelWithTwoUplinks();
  let wan1Dead = false;
  system.probeAnswer = (req) =>
    wan1Dead && req.source === '198.51.100.2' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 1 };
  const { manager, events } = await loop(t, system);
  await until('wan1 selected', () => selectionRoute(system, 100) === '198.51.100.1');
  wan1Dead = true;
  await until('wan2 selected', () => selectionRoute(system, 100) === '203.0.113.1');
  assert.equal(manager.uplinks.get('wan1')!.state, 'failed');
  assert.equal(selectionRoute(system, 101), undefined, 'a failed uplink is no candidate');
  assert.ok(
    system.commands.includes('ip -4 route replace 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 100'),
  );
  assert.ok(events.some((e) => e.type === 'selection' && e.selected === 'wan2' && e.prev === 'wan1'));
  wan1Dead = false;
  await until('wan1 back', () => selectionRoute(system, 100) === '198.51.100.1', 15_000);
  assert.ok(manager.uplinks.get('wan1')!.health.stats.view().passStreak >= 5, 'only after up_after good rounds');
});

test('snat: when traffic leaves an uplink, the flows pinned to its fixed address are released, once per switch', async (t) => {
  const system = kernelWithTwoUplinks();
  let wan1Dead = false;
  system.probeAnswer = (req) =>
    wan1Dead && req.source === '198.51.100.2' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 1 };
  const text = uplinks().replace('failback_delay: 0s }', 'failback_delay: 0s, snat: 198.51.100.9 }');
  const { events, rec } = await loop(t, system, text);
  await until('wan1 selected', () => selectionRoute(system, 100) === '198.51.100.1');
  await rec.settle();
  assert.deepEqual(system.conntrackFlushes, [], 'wan1 carries traffic: its flows stay');
  wan1Dead = true;
  await until('wan2 selected', () => selectionRoute(system, 100) === '203.0.113.1');
  await until('flows released', () => system.conntrackFlushes.length === 1);
  assert.deepEqual(system.conntrackFlushes, [['198.51.100.9']]);
  assert.ok(events.some((e) => e.type === 'conntrack' && e.ok && e.addresses[0] === '198.51.100.9'));
  await rec.settle();
  rec.markDirty('test');
  await rec.settle();
  assert.equal(system.conntrackFlushes.length, 1, 'not again while the selection stays');
});

test('carrier loss takes an uplink out at once, without waiting for probes', async (t) => {
  const { system, manager } = await loop(t);
  await until('wan1 selected', () => selectionRoute(system, 100) === '198.51.100.1');
  system.kernel.emit([{ kind: 'link', op: 'new', link: link(2, 'wan1', { carrier: false }) }]);
  await until('wan2 selected', () => selectionRoute(system, 100) === '203.0.113.1', 200);
  assert.equal(manager.uplinks.get('wan1')!.state, 'down');
  assert.equal(manager.uplinks.get('wan1')!.reason, 'no carrier');
});

test('force pins, unforce returns; block takes an uplink out', async (t) => {
  const { system, manager, rec } = await loop(t);
  await until('wan1 selected', () => selectionRoute(system, 100) === '198.51.100.1');
  manager.admin('force', 'wan2');
  rec.markDirty('force');
  await rec.settle();
  assert.equal(selectionRoute(system, 100), '203.0.113.1');
  assert.equal(selectionRoute(system, 101), undefined);
  manager.unforce();
  rec.markDirty('unforce');
  await rec.settle();
  assert.equal(selectionRoute(system, 100), '198.51.100.1');
  manager.admin('block', 'wan1');
  rec.markDirty('block');
  await rec.settle();
  assert.equal(manager.uplinks.get('wan1')!.state, 'blocked');
  assert.equal(selectionRoute(system, 100), '203.0.113.1');
  assert.throws(() => manager.admin('up', 'nope'), /no uplink named "nope"/);
});

test('a restarted daemon adopts the judged state and deletes nothing before its first round', async (t) => {
  const first = await loop(t);
  await until('wan1 selected', () => selectionRoute(first.system, 100) === '198.51.100.1');
  await first.rec.settle();
  await first.stop();
  const saved = await loadState(first.system.store, stateFile(first.stateDir));
  assert.equal(saved?.uplinks.wan1.state, 'up');
  first.system.commands.length = 0;
  // Same kernel, new daemon, whose first probe round hangs and whose config dropped wan2.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  first.system.probeAnswer = async () => (await held, { ok: false, error: 'timeout' });
  const second = await loop(t, first.system, uplinks().replace(/ {2}wan2: .*\n/, ''), first.stateDir);
  await second.rec.settle();
  assert.ok(
    !first.system.commands.some((c) => c.includes(' del ')),
    `nothing deleted before judged: ${first.system.commands}`,
  );
  assert.equal(second.manager.uplinks.get('wan1')!.state, 'up', 'adopted as up');
  assert.equal(second.manager.selection.selected, 'wan1');
  release();
  await until('judged', () => second.rec.isJudged());
  await second.rec.settle();
  assert.ok(
    first.system.commands.some(
      (c) => c === 'ip -4 route del unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295',
    ),
  );
});

test('a failed apply is reported and retried', async (t) => {
  const system = kernelWithTwoUplinks();
  system.failNext = 'RTNETLINK answers: No such process';
  const { rec, events } = await loop(t, system);
  await until('retry applied', () => system.commands.length > 0);
  await rec.settle();
  assert.ok(events.some((e) => e.type === 'reconcile' && e.error?.includes('No such process')));
});

test('a burst of dirty marks coalesces into one run', async (t) => {
  const { rec } = await loop(t);
  await rec.settle();
  const before = rec.runs;
  for (let i = 0; i < 1000; i++) rec.markDirty(`burst ${i}`);
  await rec.settle();
  assert.ok(rec.runs - before <= 2, `${rec.runs - before} runs`);
});

test('a reload that changes the selected uplink keeps it selected and touches no route', async (t) => {
  const system = kernelWithTwoUplinks();
  let held: Promise<void> | undefined;
  system.probeAnswer = async () => (await held, { ok: true, rttMs: 1 });
  const { manager, rec, reload } = await loop(t, system);
  await until('wan1 selected', () => selectionRoute(system, 100) === '198.51.100.1');
  await rec.settle();
  const n = system.commands.length;
  // New probe settings; their first round hangs, so the uplink is not judged for a while.
  let release!: () => void;
  held = new Promise<void>((r) => (release = r));
  reload(uplinks().replace('priority: 10', 'priority: 5').replace('failback_delay: 0s', 'failback_delay: 1s'));
  await rec.settle();
  assert.equal(manager.selection.selected, 'wan1');
  assert.equal(manager.uplinks.get('wan1')!.state, 'up');
  assert.equal(manager.uplinks.get('wan1')!.cfg.priority, 5);
  assert.deepEqual(system.commands.slice(n), [], 'no route or rule changed');
  release();
});

test('dual stack: IPv6 follows the selection, and an uplink whose IPv6 probes fail carries only IPv4', async (t) => {
  const system = kernelWithTwoUplinks();
  system.kernel.addrs.push(
    { family: 6, index: 2, address: '2001:db8:1::2', prefixlen: 64, scope: 0 },
    { family: 6, index: 3, address: '2001:db8:2::2', prefixlen: 64, scope: 0 },
  );
  let v6Dead = false;
  system.probeAnswer = (req) =>
    v6Dead && req.source === '2001:db8:1::2' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 1 };
  const text = `
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, gateway6: "2001:db8:1::1", probe: { profile: fast }, failback_delay: 0s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1, gateway6: "2001:db8:2::1", probe: { profile: fast } }
`;
  const { manager } = await loop(t, system, text);
  const s6 = () =>
    [...system.kernel.routes.values()]
      .filter((r) => r.family === 6 && r.table === 7300)
      .sort((a, b) => a.metric - b.metric)
      .map((r) => r.gateway);
  await until('v6 defaults in the selection table', () => s6().join() === '2001:db8:1::1,2001:db8:2::1');
  assert.ok(system.commands.includes('ip -6 rule add priority 7310 from 2001:db8:1::2/128 lookup 7301 protocol 201'));
  v6Dead = true;
  await until('wan1 carries no IPv6', () => s6().join() === '2001:db8:2::1');
  assert.equal(selectionRoute(system, 100), '198.51.100.1', 'IPv4 stays on wan1');
  assert.equal(manager.selection.selected, 'wan1');
  v6Dead = false;
  await until('IPv6 back on wan1', () => s6()[0] === '2001:db8:1::1');
});

test('a restarted daemon keeps a connect uplink blocked that had given up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const system = kernelWithTwoUplinks();
  await system.store.write(
    stateFile(dir),
    JSON.stringify({
      version: 1,
      uplinks: {
        dsl: {
          state: 'blocked',
          since: 1,
          adminDown: false,
          adminBlocked: false,
          dialRequested: false,
          dial: { failures: 3, gaveUp: 'gave up after 3 failed dial(s)' },
        },
      },
    }),
  );
  const { manager, events } = await loop(
    t,
    system,
    'uplinks:\n  dsl: { interface: ppp0, connect: "exit 1", redial: { retries: 2 } }\n',
    dir,
  );
  await until('evaluated', () => manager.uplinks.get('dsl')!.reason.includes('gave up'));
  assert.equal(manager.uplinks.get('dsl')!.state, 'blocked');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!events.some((e) => e.type === 'uplink' && e.event === 'dial'), 'no dial after the restart');
});
