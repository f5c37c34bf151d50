/**
 * Confirmed apply on the fake System: the start decision (table), apply → pending with the
 * sent config running, reload refused, confirm writes the sent bytes (keeping a backup),
 * rollback and the deadline restore the last-good config and the admin's overrides, a
 * re-apply keeps last-good, and a restarted daemon resumes the countdown in the same boot
 * but starts on last-good after a reboot or past the deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { Controller } from '../../src/daemon/controller.js';
import { decideAtStart, type ApplyRecord } from '../../src/apply/record.js';
import { configChanges } from '../../src/apply/changes.js';
import type { FakeSystem } from '../../src/system/fake.js';
import { kernelWithTwoUplinks, until } from './fixtures.js';
import { isUplinkError } from '../../src/errors.js';

const log = pino({ level: 'silent' });
const OLD = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, probe: { profile: fast } }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1, probe: { profile: fast } }
`;
const NEW = `${OLD}jobs:\n  extra: { run: "sleep 1000" }\n`;
const CUT = OLD.replace('priority: 10', 'priority: 30');

/** A daemon started on the config file holding `file` (default: OLD, written there first). */
async function daemon(system: FakeSystem, file: string | null = OLD) {
  if (file !== null) await system.store.write('/etc/uplinkd.yaml', file);
  const ctl = new Controller({
    configPath: '/etc/uplinkd.yaml',
    config: parseConfigText((await system.store.read('/etc/uplinkd.yaml'))!, '/etc/uplinkd.yaml'),
    system,
    log,
  });
  await ctl.start();
  return ctl;
}

const code = (c: string) => (e: unknown) => isUplinkError(e) && e.code === c;

test('start decision: nothing, resume in the same boot before the deadline, else last-good', () => {
  const r = { bootId: 'b1', deadlineBootMs: 5000 } as ApplyRecord;
  assert.deepEqual(decideAtStart(undefined, 'b1', 0), { kind: 'none' });
  assert.deepEqual(decideAtStart(r, 'b1', 4000), { kind: 'resume', record: r, leftMs: 1000 });
  for (const [boot, now, why] of [
    ['b2', 1000, /rebooted/],
    ['b1', 5000, /deadline passed/],
    ['b1', 9000, /deadline passed/],
  ] as const) {
    const d = decideAtStart(r, boot, now);
    assert.equal(d.kind, 'rollback');
    assert.match((d as { why: string }).why, why);
  }
});

test('apply runs the sent config at once; reload is refused; confirm writes those bytes and keeps a backup', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system);
  const api = ctl.api();
  const r = (await api.apply(NEW, 'new.yaml', 60)) as { deadline: string };
  assert.ok(Date.parse(r.deadline) > Date.now() + 55_000);
  assert.equal(ctl.status().apply?.file, 'new.yaml');
  assert.ok(
    ctl.status().jobs.some((j) => j.name === 'extra'),
    'the new config runs',
  );
  assert.equal(await system.store.read('/etc/uplinkd.yaml'), OLD, 'the file is untouched until confirm');
  await assert.rejects(api.reload(), code('APPLY_PENDING'));
  await api.confirm();
  assert.equal(await system.store.read('/etc/uplinkd.yaml'), NEW, 'the bytes that were sent');
  assert.equal(await system.store.read('/etc/uplinkd.yaml.bak'), OLD);
  assert.equal(await system.store.read('/fake/state/apply.json'), undefined, 'no record left');
  assert.equal(ctl.status().apply, undefined);
  await assert.rejects(api.confirm(), code('NO_PENDING_APPLY'));
  await api.reload(); // works again
  await ctl.stop('test');
});

test('rollback restores the last-good config and the overrides as they were at apply time; re-apply keeps last-good', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system);
  const api = ctl.api();
  await api.admin('block', 'wan2');
  await api.apply(NEW, 'new.yaml', 60);
  await api.admin('unblock', 'wan2');
  await api.admin('force', 'wan1');
  await api.apply(CUT, 'cut.yaml', 60); // replaces the pending one: last-good stays OLD
  await api.rollback();
  const s = ctl.status();
  assert.equal(s.apply, undefined);
  assert.equal(s.jobs.length, 0, 'the old config runs again');
  assert.equal(s.uplinks.find((u) => u.name === 'wan1')?.priority, 10);
  assert.equal(s.selection.forced, undefined, 'not forced at apply time');
  assert.ok(s.uplinks.find((u) => u.name === 'wan2')?.adminBlocked, 'blocked again, as at apply time');
  assert.equal(await system.store.read('/etc/uplinkd.yaml'), OLD);
  await assert.rejects(api.rollback(), code('NO_PENDING_APPLY'));
  await ctl.stop('test');
});

test('no confirm by the deadline: the daemon rolls back by itself', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system);
  await ctl.api().apply(NEW, 'new.yaml', 0.3);
  const rolled = () =>
    ctl
      .api()
      .history()
      .some((e) => e.type === 'apply' && e.action === 'rollback');
  await until('rolled back', rolled, 5000);
  assert.equal(ctl.status().apply, undefined);
  assert.equal(ctl.status().jobs.length, 0);
  await ctl.stop('test');
});

test('apply refuses what it may not change, and bad seconds', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system);
  const api = ctl.api();
  await assert.rejects(api.apply(OLD.replace('/fake/state', '/fake/other'), 'x.yaml', 60), code('CONFIG_RESTART_ONLY'));
  await assert.rejects(api.apply('uplinks: [', 'x.yaml', 60), code('CONFIG_INVALID'));
  await assert.rejects(api.apply(NEW, 'x.yaml', 0), code('APPLY_SECONDS'));
  assert.equal(ctl.status().apply, undefined, 'nothing pending after a refusal');
  await ctl.stop('test');
});

test('a restarted daemon resumes the countdown in the same boot; after a reboot it starts on last-good', async () => {
  const system = kernelWithTwoUplinks();
  let ctl = await daemon(system);
  await ctl.api().admin('block', 'wan2');
  await ctl.api().apply(NEW, 'new.yaml', 60);
  await ctl.api().admin('unblock', 'wan2');
  await ctl.stop('restart');
  ctl = await daemon(system);
  assert.equal(ctl.status().apply?.file, 'new.yaml', 'still pending');
  assert.ok(ctl.status().apply!.secondsLeft <= 60);
  assert.ok(
    ctl.status().jobs.some((j) => j.name === 'extra'),
    'the pending config runs, not the file',
  );
  await ctl.stop('reboot');
  system.boot = 'fake-boot-2';
  ctl = await daemon(system);
  assert.equal(ctl.status().apply, undefined);
  assert.equal(ctl.status().jobs.length, 0, 'last-good runs');
  assert.ok(ctl.status().uplinks.find((u) => u.name === 'wan2')?.adminBlocked, 'overrides as at apply time');
  assert.equal(await system.store.read('/fake/state/apply.json'), undefined);
  await ctl.stop('test');
});

test('plan changes: uplinks added, removed, changed (which keys); what happens to each job', () => {
  const cur = parseConfigText(
    `${OLD}jobs:\n  vpn: { run: "openvpn a" }\n  idle: { run: "sleep 1" }\n  mail: { run: "m", when: default.up }\n  gone: { run: "g" }\n  old: { run: "o" }\n`,
    'cur.yaml',
  );
  const next = parseConfigText(
    `${OLD.replace('priority: 20', 'priority: 25').replace(/ {2}wan1:.*\n/, '')}  lte: { interface: wwan0, gateway: 10.0.0.1 }
jobs:\n  vpn: { run: "openvpn b" }\n  idle: { run: "sleep 2" }\n  mail: { run: "m", when: not default.up }\n  fresh: { run: "f" }\n`,
    'next.yaml',
  );
  const running = new Map([
    ['vpn', true],
    ['idle', false],
    ['mail', true],
    ['gone', true],
  ]);
  assert.deepEqual(configChanges(cur, next, running), {
    uplinks: { added: ['lte'], removed: ['wan1'], changed: [{ name: 'wan2', keys: ['priority'] }] },
    jobs: [
      { name: 'fresh', action: 'start' },
      { name: 'gone', action: 'stop' },
      { name: 'old', action: 'remove' },
      { name: 'vpn', action: 'restart' },
      { name: 'idle', action: 'change' },
      { name: 'mail', action: 'change' },
    ],
  });
});

test('start: a confirm cut short by a crash is kept; a pending config that no longer loads is rolled back, never resumed', async () => {
  const system = kernelWithTwoUplinks();
  let ctl = await daemon(system);
  await ctl.api().apply(NEW, 'new.yaml', 60);
  await ctl.stop('crash');
  // The crash came after the file was written and before the record went.
  const record = (await system.store.read('/fake/state/apply.json'))!;
  await system.store.write('/etc/uplinkd.yaml', NEW);
  const c = await daemon(system, null);
  assert.equal(c.status().apply, undefined, 'confirmed');
  assert.equal(await system.store.read('/fake/state/apply.json'), undefined);
  await c.stop('test');

  // A pending config the daemon can no longer load: rolled back at start (a confirm would write it).
  await system.store.write('/fake/state/apply.json', record.replace('"pending":"', '"pending":"bogus: [\\n'));
  ctl = await daemon(system);
  assert.equal(ctl.status().apply, undefined, 'not resumed');
  assert.ok(
    ctl
      .api()
      .history()
      .some((e) => e.type === 'apply' && e.action === 'rollback'),
  );
  await ctl.stop('test');
});

test('rollback restores `job stop` of a job only the last-good config has', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system, NEW);
  const api = ctl.api();
  await until('extra known', () => ctl.status().jobs.some((j) => j.name === 'extra'));
  await api.job('stop', 'extra');
  await api.apply(OLD, 'old.yaml', 60); // has no job
  await api.rollback();
  await until('extra back', () => ctl.status().jobs.some((j) => j.name === 'extra'));
  assert.equal(ctl.status().jobs.find((j) => j.name === 'extra')?.state, 'stopped', 'still stopped by the admin');
  await ctl.stop('test');
});

test('status says when the file on disk differs: pending apply, an edit not reloaded, a missing file', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = await daemon(system);
  const api = ctl.api();
  const differs = () => ctl.status().daemon.configDiffers;
  assert.equal(differs(), undefined, 'the file is what runs');
  await api.apply(NEW, 'new.yaml', 60);
  assert.match(differs() ?? '', /apply is pending/);
  await api.confirm();
  assert.equal(differs(), undefined, 'confirm wrote what runs');
  await system.store.write('/etc/uplinkd.yaml', CUT);
  system.changed('/etc', 'uplinkd.yaml');
  await until('the edit seen', () => /not reloaded/.test(differs() ?? ''));
  await api.reload();
  assert.equal(differs(), undefined, 'reloaded');
  // An edit back to the running bytes is no difference.
  await system.store.write('/etc/uplinkd.yaml', `${CUT}# comment\n`);
  system.changed('/etc', 'uplinkd.yaml');
  await until('comment edit seen', () => differs() !== undefined);
  await system.store.write('/etc/uplinkd.yaml', CUT);
  system.changed('/etc', 'uplinkd.yaml');
  await until('back to the running bytes', () => differs() === undefined);
  await system.store.remove('/etc/uplinkd.yaml');
  system.changed('/etc', 'uplinkd.yaml');
  await until('a missing file seen', () => /is gone/.test(differs() ?? ''));
  await ctl.stop('test');
});
