/**
 * cgroup v2 containment of supervised runs, with real processes: what calls setsid (escapes
 * its process group) is still waited for and killed, the cgroup goes away with the run, an
 * adoption takes the saved cgroup only while the pid is in it, and without a usable cgroup
 * the run falls back to its process group. Skipped where no writable cgroup v2 hierarchy
 * exists. Every test kills its cgroup's processes (cgroup.kill) and removes it, whatever happened.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Supervised } from '../../src/system/supervise.js';
import {
  cgroupOf,
  cgroupPopulated,
  endLeftoverCgroup,
  holdsCgroup,
  removeCgroup,
  signalCgroup,
  validCgroupName,
} from '../../src/system/supervise/cgroup.js';
import { processAlive } from '../../src/system/supervise/proc.js';
import { cgroupsWritable } from '../../src/lab/cgroups.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const skip = cgroupsWritable() ? undefined : 'no writable cgroup v2 hierarchy';
// Supervised children are unref'd (a daemon may exit while they run): keep the loop alive.
const keep = setInterval(() => {}, 1000);
after(() => clearInterval(keep));

/** A fresh cgroup name for one test; on the way out, everything in it is killed and it is removed. */
function cgroupName(t: TestContext): string {
  const parent = `uplinkd-test-${randomBytes(4).toString('hex')}`;
  t.after(async () => {
    const dir = join(cgroupOf('self')!, parent);
    for (const d of [join(dir, 'job'), dir]) {
      if (!existsSync(d)) continue;
      signalCgroup(d, 'SIGKILL');
      for (let i = 0; i < 50 && cgroupPopulated(d); i++) await sleep(20);
      removeCgroup(d);
    }
  });
  return `${parent}/job`;
}

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-cgroup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function pidIn(file: string): Promise<number> {
  for (let i = 0; i < 150; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')) return Number(readFileSync(file, 'utf8'));
    await sleep(20);
  }
  throw new Error(`no pid in ${file}`);
}

/** Starts a background sleep that leaves the process group (setsid) and writes its pid. */
const escaping = (file: string) => `setsid sleep 1000 & echo $! > ${file}`;

test('cgroup names: segments of safe characters, never the kernel files or dot-dot', () => {
  for (const ok of ['uplinkd-jobs-0a1b/vpn', 'a', 'x_y.z']) assert.ok(validCgroupName(ok), ok);
  for (const bad of ['', '../x', 'a/../b', 'a//b', '/abs', 'cgroup.procs', 'a/cgroup.kill', 'sp ace'])
    assert.equal(validCgroupName(bad), false, bad);
});

test('a run in a cgroup: what escaped its process group with setsid is killed on stop, and the cgroup is removed', {
  skip,
}, async (t) => {
  const bgFile = join(tmp(t), 'bg.pid');
  const s = Supervised.start({ command: `${escaping(bgFile)}; sleep 1000`, cgroup: cgroupName(t) }, log);
  assert.ok(s.cgroup, 'in a cgroup');
  assert.equal(cgroupOf(s.pid), s.cgroup, 'born inside it');
  assert.notEqual(cgroupOf('self'), s.cgroup, 'the daemon went back to its own');
  const bg = await pidIn(bgFile);
  assert.equal(cgroupOf(bg), s.cgroup, 'the escaped child is still in it');
  await s.stop({ graceMs: 2000 });
  assert.equal(processAlive(bg), false, 'the setsid child is gone too');
  assert.equal(existsSync(s.cgroup), false, 'cgroup removed');
});

test('a main process that exits while its setsid child runs: exited waits until the cgroup is empty', {
  skip,
}, async (t) => {
  const bgFile = join(tmp(t), 'bg.pid');
  const s = Supervised.start({ command: `${escaping(bgFile)}; exit 4`, cgroup: cgroupName(t), graceMs: 2000 }, log);
  const reason = await s.exited;
  assert.deepEqual(reason, { code: 4, signal: null });
  assert.equal(processAlive(await pidIn(bgFile)), false, 'nothing of the dead run lingers');
  assert.equal(cgroupPopulated(s.cgroup!), false);
});

test('a child that ignores SIGTERM is killed through cgroup.kill after the grace', { skip }, async (t) => {
  const bgFile = join(tmp(t), 'bg.pid');
  // It writes its pid only once the trap is set: a TERM before that would end it at once.
  const cmd = `setsid sh -c 'trap "" TERM; echo $$ > ${bgFile}; while :; do sleep 0.1; done' & sleep 1000`;
  const s = Supervised.start({ command: cmd, cgroup: cgroupName(t) }, log);
  const bg = await pidIn(bgFile);
  const t0 = Date.now();
  await s.stop({ graceMs: 300 });
  assert.ok(Date.now() - t0 >= 300, 'waited for the grace');
  assert.equal(processAlive(bg), false);
});

test('adopt with the saved cgroup kills everything in it; a cgroup the pid left is not used', { skip }, async (t) => {
  const bgFile = join(tmp(t), 'bg.pid');
  const first = Supervised.start({ command: `${escaping(bgFile)}; sleep 1000`, cgroup: cgroupName(t) }, log);
  const bg = await pidIn(bgFile);
  const stale = Supervised.adopt(first.pid, log, {
    startTime: first.startTime,
    cgroup: `${first.cgroup}-elsewhere`,
    pollMs: 50,
  });
  assert.equal(stale?.cgroup, undefined, 'a cgroup the process is not in is ignored');
  const s = Supervised.adopt(first.pid, log, { startTime: first.startTime, cgroup: first.cgroup!, pollMs: 50 });
  assert.equal(s?.cgroup, first.cgroup);
  await s!.stop({ graceMs: 2000 });
  assert.equal(processAlive(bg), false);
  assert.equal(processAlive(first.pid), false);
});

test('no usable cgroup (a bad name): the run starts in its process group alone', async (t) => {
  const s = Supervised.start({ command: 'sleep 1000', cgroup: '../escape' }, log);
  t.after(() => s.stop({ graceMs: 500 }));
  assert.equal(s.cgroup, undefined);
  assert.ok(s.running);
});

test('the daemon never signals its own cgroup or one above it (checked without signalling anything)', () => {
  const own = '/sys/fs/cgroup/system.slice/uplinkd.service';
  for (const dir of [own, '/sys/fs/cgroup/system.slice', `${own}/..`, '/sys/fs/cgroup', '/'])
    assert.ok(holdsCgroup(dir, own), dir);
  assert.ok(holdsCgroup(`${own}/jobs/vpn`, undefined), 'no own cgroup known: refuse');
  for (const dir of [`${own}/jobs/vpn`, `${own}-x`, '/sys/fs/cgroup/other'])
    assert.equal(holdsCgroup(dir, own), false, dir);
});

test('leftovers of a dead instance: everything in its cgroup is killed and the cgroup removed; other directories are refused', {
  skip,
}, async (t) => {
  const bgFile = join(tmp(t), 'bg.pid');
  const name = `uplinkd-jobs-${randomBytes(5).toString('hex')}`;
  t.after(async () => {
    const dir = join(cgroupOf('self')!, name);
    if (existsSync(dir)) for (const d of [join(dir, 'job', 'leaf'), join(dir, 'job'), dir]) removeCgroup(d);
  });
  const s = Supervised.start({ command: `${escaping(bgFile)}; sleep 1000`, cgroup: `${name}/job/leaf` }, log);
  const bg = await pidIn(bgFile);
  const own = cgroupOf('self')!;
  assert.equal(await endLeftoverCgroup(own, sleep), false, 'never our own cgroup');
  assert.equal(await endLeftoverCgroup(join(own, 'not-ours'), sleep), false, 'only below uplinkd-jobs-*');
  assert.equal(await endLeftoverCgroup(s.cgroup!, sleep), true);
  assert.equal(processAlive(bg), false);
  assert.equal(existsSync(s.cgroup!), false);
  await s.exited;
});
