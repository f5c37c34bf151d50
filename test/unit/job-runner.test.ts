/**
 * One job's supervisor on the fake System: level-triggered starts and stops, the restart
 * policies within a true-period, backoff, the crash-loop limit (and its daemonize hint),
 * restart_on (none does not count, changes do, and are not crashes), admin stop and start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { FakeSystem } from '../../src/system/fake.js';
import { argvCommand, JobRunner, programOf, type JobEvent } from '../../src/jobs/runner.js';
import type { JobWant } from '../../src/jobs/desired.js';

const log = pino({ level: 'silent' });
const tick = () => new Promise((r) => setImmediate(r));

/** The test's clock: `clock.now` is what the runner reads when a process exits. */
const clock = { now: 0 };

function runner(jobYaml: string) {
  const cfg = parseConfigText(`jobs:\n  vpn: ${jobYaml}\n`, 't.yaml').jobs.vpn!;
  const system = new FakeSystem();
  const events: JobEvent[] = [];
  clock.now = 0;
  const r = new JobRunner({
    name: 'vpn',
    cfg,
    system,
    logFile: '/fake/vpn.log',
    cgroup: 'uplinkd-jobs-t/vpn',
    log,
    onChange: (e) => events.push(e),
    clock: () => clock.now,
  });
  return { r, system, events };
}
const want = (run: boolean, values: Record<string, string> = {}): JobWant => ({
  run,
  why: run ? 'default.up is true' : 'default.up is false',
  values,
  env: { UPLINK: 'fiber' },
});

test('job runner: runs while wanted, one copy however often asked; stops when not', async () => {
  const { r, system } = runner('{ run: "openvpn x", restart: always }');
  r.ensure(want(true), 0);
  r.ensure(want(true), 1);
  assert.equal(system.processes.length, 1);
  assert.equal(r.state, 'running');
  assert.equal(system.processes[0]!.o.env?.UPLINK, 'fiber');
  assert.equal(system.processes[0]!.o.env?.JOB, 'vpn');
  r.ensure(want(false), 2);
  await tick();
  assert.equal(system.processes[0]!.running, false);
  assert.equal(r.state, 'waiting');
  assert.equal(r.why, 'default.up is false');
});

test('job runner: restart always with a doubling delay; past max_restarts within the window it fails', async () => {
  const { r, system, events } = runner('{ run: x, restart: always, restart_delay: 1s, max_restarts: 2 }');
  let now = 0;
  r.ensure(want(true), now);
  for (const [i, delay] of [1000, 2000].entries()) {
    clock.now = now;
    system.processes[i]!.exit(1);
    await tick();
    assert.equal(r.state, 'waiting');
    r.ensure(want(true), now + delay - 1);
    assert.equal(system.processes.length, i + 1, 'not before the delay');
    now += delay;
    r.ensure(want(true), now);
    assert.equal(system.processes.length, i + 2);
  }
  clock.now = now;
  system.processes[2]!.exit(1);
  await tick();
  assert.equal(r.state, 'failed');
  assert.match(events.find((e) => e.event === 'failed')!.message, /3 starts within 60s \(max_restarts 2\)/);
  r.ensure(want(true), now + 100_000);
  assert.equal(system.processes.length, 3, 'failed stays failed');
  r.admin('start');
  r.ensure(want(true), now + 100_000);
  assert.equal(system.processes.length, 4, 'job start clears failed');
});

test('job runner: on-failure stops after a clean exit until the next true-period; never restarts not at all', async () => {
  const { r, system } = runner('{ run: x }');
  r.ensure(want(true), 0);
  system.processes[0]!.exit(0);
  await tick();
  r.ensure(want(true), 10_000);
  assert.equal(system.processes.length, 1, 'clean exit: not restarted');
  assert.equal(r.state, 'stopped');
  r.ensure(want(false), 11_000);
  r.ensure(want(true), 12_000);
  assert.equal(system.processes.length, 2, 'a new true-period starts it again');
});

test('job runner: a command that daemonizes is named in the crash-loop error', async () => {
  const { r, system, events } = runner('{ run: x, restart: always, restart_delay: 0s, max_restarts: 3 }');
  for (let i = 0; i < 4; i++) {
    r.ensure(want(true), clock.now);
    system.processes.at(-1)!.exit(0);
    await tick();
  }
  assert.equal(r.state, 'failed');
  assert.match(events.find((e) => e.event === 'failed')!.message, /probably daemonizes — run it in the foreground/);
});

test('job runner: restart_on restarts on a changed value, not on none, and not as a crash', async () => {
  const { r, system } = runner('{ run: x, restart_on: [default.uplink], max_restarts: 1 }');
  r.ensure(want(true, { 'default.uplink': 'fiber' }), 0);
  r.ensure(want(true, { 'default.uplink': 'none' }), 1);
  r.ensure(want(true, { 'default.uplink': 'fiber' }), 2);
  assert.equal(system.processes[0]!.running, true, 'fiber → none → fiber: no restart');
  for (const [i, up] of ['lte', 'fiber', 'lte'].entries()) {
    r.ensure(want(true, { 'default.uplink': up }), 3 + i);
    await tick();
    assert.equal(system.processes[i]!.running, false);
    r.ensure(want(true, { 'default.uplink': up }), 3 + i);
    assert.equal(system.processes.length, i + 2, `restarted for ${up}`);
  }
  assert.equal(r.state, 'running', 'three restarts, no crash loop');
  assert.deepEqual(r.saved()?.values, { 'default.uplink': 'lte' });
});

test('job runner: admin stop keeps it stopped; restart is not a crash', async () => {
  const { r, system } = runner('{ run: x, max_restarts: 1 }');
  r.ensure(want(true), 0);
  r.admin('stop');
  r.ensure(want(true), 1);
  await tick();
  assert.equal(r.state, 'stopped');
  r.ensure(want(true), 2);
  assert.equal(system.processes.length, 1);
  r.admin('start');
  r.ensure(want(true), 3);
  for (let i = 0; i < 3; i++) {
    r.admin('restart');
    await tick();
    r.ensure(want(true), 4 + i);
  }
  assert.equal(system.processes.length, 5);
  assert.equal(r.state, 'running');
});

test('argvCommand quotes every argument for /bin/sh', () => {
  assert.equal(
    argvCommand(['openvpn', '--config', "/etc/o p/it's.conf"]),
    "exec 'openvpn' '--config' '/etc/o p/it'\\''s.conf'",
  );
});

test('job runner: a program others could have replaced is refused, naming the path', async () => {
  const { r, system, events } = runner('{ run: "vpnc --local" }');
  system.untrustedPrograms.set('vpnc', '/usr/local/bin/vpnc is writable by others');
  r.ensure(want(true), 0);
  assert.equal(system.processes.length, 0);
  assert.equal(r.state, 'failed');
  assert.equal(events.at(-1)!.message, 'refused: /usr/local/bin/vpnc is writable by others');
});

test('job runner: nothing new starts until the last run is gone, whole group (no overlap, the exit counted)', async () => {
  const { r, system } = runner('{ run: x, restart: never }');
  // The main process is dead, the rest of its group is still being killed.
  let finish!: (v: { code: number; signal: null }) => void;
  const exited = new Promise<{ code: number; signal: null }>((res) => (finish = res));
  let running = true;
  const slow = {
    pid: 77,
    startTime: 1,
    get running() {
      return running;
    },
    exited,
    stop: async () => exited,
    signal: () => false,
  };
  system.spawn = () => slow;
  r.ensure(want(true), 0);
  running = false;
  r.ensure(want(true), 1);
  r.ensure(want(true), 2);
  finish({ code: 0, signal: null });
  await tick();
  r.ensure(want(true), 3);
  assert.equal(r.state, 'stopped', 'restart: never, and exactly one run');
});

test('job runner: a spawn that fails counts toward the crash-loop limit', async () => {
  const { r, system } = runner('{ run: x, restart: always, restart_delay: 0s, max_restarts: 2 }');
  system.spawnFails = 'no user "vpn"';
  for (let i = 0; i < 5; i++) r.ensure(want(true), i);
  assert.equal(r.state, 'failed');
});

test('job runner: a restart_on key the instance did not start with is taken as it is, not as a change', async () => {
  const { r, system } = runner('{ run: x, restart_on: [default.uplink] }');
  r.ensure(want(true, {}), 0);
  r.ensure(want(true, { 'default.uplink': 'fiber' }), 1);
  assert.equal(system.processes[0]!.running, true);
  r.ensure(want(true, { 'default.uplink': 'lte' }), 2);
  await tick();
  assert.equal(system.processes[0]!.running, false, 'a real change restarts');
});

test('programOf: the program behind assignments and exec', () => {
  assert.equal(programOf('FOO=1 BAR=2 exec openvpn --config x'), 'openvpn');
  assert.equal(programOf(['/usr/sbin/openvpn', '--config']), '/usr/sbin/openvpn');
});

test('job runner: a job starts in its cgroup, the state file keeps the directory, adoption hands it back', async () => {
  const { r, system } = runner('{ run: "openvpn x", restart: always }');
  r.ensure(want(true), 0);
  assert.match(
    (system.processes[0]!.o as { cgroup?: string }).cgroup!,
    /^uplinkd-jobs-t\/vpn\/[0-9a-z]+$/,
    'a leaf per run',
  );
  const saved = r.saved()!;
  assert.match(saved.cgroup!, /^\/fake-cgroup\/uplinkd-jobs-t\/vpn\/[0-9a-z]+$/);
  assert.equal(r.cgroup, saved.cgroup);

  const next = runner('{ run: "openvpn x", restart: always }');
  next.system.adoptable.set(saved.pid, saved.startTime);
  assert.ok(next.r.adopt(saved));
  assert.equal(next.system.processes[0]!.o.cgroup, saved.cgroup, 'adopted with the saved directory');
  assert.equal(next.r.cgroup, saved.cgroup);
});

test('job runner: a new command restarts a running instance (not a crash); a new condition alone does not', async () => {
  const { r, system } = runner('{ run: "openvpn a", restart: always, max_restarts: 1 }');
  r.ensure(want(true), 0);
  r.reconfigure({ ...r.cfg, restart_delay: 5000 });
  await tick();
  assert.equal(system.processes[0]!.running, true, 'other settings: no restart');
  r.reconfigure({ ...r.cfg, run: 'openvpn b' });
  await tick();
  assert.equal(system.processes[0]!.running, false, 'the old command stopped');
  r.ensure(want(true), 1);
  assert.equal(system.processes.length, 2, 'started again at once');
  assert.equal((system.processes[1]!.o as { command: string }).command, 'openvpn b');
  assert.equal(r.state, 'running', 'not counted toward max_restarts');
});
