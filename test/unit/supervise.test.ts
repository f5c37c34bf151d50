/**
 * Process supervisor, with real local processes (sleep, sh -c): process groups,
 * SIGTERM→SIGKILL, disconnect, self-exit cleanup, log files, surviving the parent, adopt().
 * Every test kills what it started, by pgid/pid, in t.after().
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Supervised, processGroupAlive, type ExitReason } from '../../src/system/supervise.js';
import { parseProcStat, processAlive, readProcStat } from '../../src/system/supervise/proc.js';
import { decodeWaitStatus, onExit, posixSpawn } from '../../src/system/supervise/posix-spawn.js';
import { UplinkError } from '../../src/errors.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'supervise-child.js');

/** Await with a deadline (its ref'd timer also keeps the loop alive: children are unref'd). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-supervise-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Kill a group we made when the test ends, whatever happened (by pgid only, never by name). */
function reap(t: TestContext, pgid: number): void {
  assert.ok(Number.isInteger(pgid) && pgid > 1, `bad pgid ${pgid}`);
  t.after(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
}

const readPid = (file: string): number => Number(readFileSync(file, 'utf8').trim());

/** Start COMMAND from a separate Node process that exits at once (like a quitting daemon). */
function startFromHelper(command: string, logFile?: string): Promise<{ pid: number; startTime: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [HELPER, command, ...(logFile ? [logFile] : [])], { timeout: 10_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { pid: number; startTime: number });
    });
  });
}

test('proc stat parsing copes with spaces and parentheses in comm', () => {
  const line = '4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0';
  assert.deepEqual(parseProcStat(line), {
    pid: 4242,
    state: 'S',
    ppid: 1,
    pgrp: 4242,
    session: 4242,
    startTime: 987654,
  });
  const self = readProcStat(process.pid);
  assert.ok(self && self.startTime > 0 && self.pid === process.pid);
});

test('processGroupAlive refuses nonsense pgids', () => {
  for (const p of [0, 1, -1, 1.5, Number.NaN, 4_194_305]) assert.equal(processGroupAlive(p), false, String(p));
});

test('start sleep 30: running, pid/startTime set; stop() ends it with SIGTERM and the group is gone', async (t) => {
  const s = Supervised.start({ command: 'sleep 30' }, log);
  reap(t, s.pid);
  assert.ok(s.pid > 1);
  assert.equal(s.pgid, s.pid);
  assert.ok(s.startTime > 0);
  assert.equal(s.startTime, readProcStat(s.pid)?.startTime);
  assert.equal(readProcStat(s.pid)?.pgrp, s.pid, 'leads its own process group');
  assert.ok(s.running);
  assert.ok(processGroupAlive(s.pid));
  const t0 = Date.now();
  const reason = await within(s.stop(), 5000, 'stop');
  assert.deepEqual(reason, { code: null, signal: 'SIGTERM' });
  assert.ok(Date.now() - t0 < 2000, 'no waiting for the 5 s grace once the group is empty');
  assert.equal(s.running, false);
  assert.equal(processGroupAlive(s.pid), false);
  assert.deepEqual(await s.exited, reason);
  // stop() on an exited process resolves at once with the same reason.
  const t1 = Date.now();
  assert.deepEqual(await s.stop(), reason);
  assert.ok(Date.now() - t1 < 100);
});

test('a command that ignores SIGTERM is killed with SIGKILL after graceMs', async (t) => {
  const s = Supervised.start({ command: 'trap "" TERM; sleep 30' }, log);
  reap(t, s.pid);
  await sleep(100); // let the shell install its trap
  const t0 = Date.now();
  const reason = await within(s.stop({ graceMs: 300 }), 5000, 'stop');
  const took = Date.now() - t0;
  assert.equal(reason.signal, 'SIGKILL');
  assert.ok(took >= 300, `took ${took} ms`);
  assert.ok(took < 3000, `took ${took} ms`);
  assert.equal(processGroupAlive(s.pid), false);
});

test('disconnect runs before the signal, while the main process is still alive', async (t) => {
  const dir = tmp(t);
  const marker = join(dir, 'disconnected');
  const s = Supervised.start({ command: 'sleep 30' }, log);
  reap(t, s.pid);
  const reason = await within(
    s.stop({ disconnect: `kill -0 ${s.pid} && echo main-was-alive > ${marker}` }),
    5000,
    'stop',
  );
  assert.equal(readFileSync(marker, 'utf8'), 'main-was-alive\n');
  assert.equal(reason.signal, 'SIGTERM');
  assert.equal(processGroupAlive(s.pid), false);
});

test('a disconnect that ends the main process itself; env reaches the disconnect command', async (t) => {
  const dir = tmp(t);
  const s = Supervised.start({ command: 'exec sleep 30', env: { PEER: 'isp' } }, log);
  reap(t, s.pid);
  const reason = await within(s.stop({ disconnect: `echo "$PEER" > ${dir}/peer; kill -HUP ${s.pid}` }), 5000, 'stop');
  assert.equal(reason.signal, 'SIGHUP');
  assert.equal(readFileSync(join(dir, 'peer'), 'utf8'), 'isp\n');
});

test('a hanging disconnect is killed after disconnectTimeoutMs and the stop goes on', async (t) => {
  const dir = tmp(t);
  const pidFile = join(dir, 'disconnect.pid');
  const s = Supervised.start({ command: 'sleep 30' }, log);
  reap(t, s.pid);
  const t0 = Date.now();
  const stopping = s.stop({ disconnect: `echo $$ > ${pidFile}; exec sleep 30`, disconnectTimeoutMs: 300 });
  await eventually(
    () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'),
    3000,
    'disconnect started',
  );
  const disconnectPid = readPid(pidFile);
  reap(t, disconnectPid);
  const reason = await within(stopping, 5000, 'stop');
  assert.equal(reason.signal, 'SIGTERM');
  assert.ok(Date.now() - t0 >= 300);
  await eventually(() => !processAlive(disconnectPid), 3000, 'disconnect command killed');
});

test('main process dies by itself (exit 3): exited has code 3 and its background sleep is killed by then', async (t) => {
  const dir = tmp(t);
  const bgFile = join(dir, 'bg.pid');
  const s = Supervised.start({ command: `sleep 30 & echo $! > ${bgFile}; exit 3` }, log);
  reap(t, s.pid);
  const reason = await within(s.exited, 8000, 'exited');
  assert.deepEqual(reason, { code: 3, signal: null });
  const bg = readPid(bgFile);
  assert.ok(bg > 1);
  assert.equal(processAlive(bg), false, 'background sleep killed before exited resolved');
  assert.equal(processGroupAlive(s.pid), false);
  assert.equal(s.running, false);
});

test('a process that exits at once: exited resolves, stop() resolves at once', async (t) => {
  const s = Supervised.start({ command: 'exit 7' }, log);
  reap(t, s.pid);
  assert.deepEqual(await within(s.exited, 3000, 'exited'), { code: 7, signal: null });
  const t0 = Date.now();
  assert.deepEqual(await s.stop({ disconnect: 'exit 1' }), { code: 7, signal: null });
  assert.ok(Date.now() - t0 < 100);
});

test('start in a missing working directory throws an UplinkError', () => {
  assert.throws(
    () => Supervised.start({ command: 'true', cwd: '/nonexistent/uplinkd' }, log),
    (e: unknown) => e instanceof UplinkError && e.code === 'SPAWN',
  );
  assert.throws(
    () => Supervised.start({ command: 'true', logFile: '/nonexistent/uplinkd/x.log' }, log),
    (e: unknown) => e instanceof UplinkError && e.code === 'SPAWN',
  );
});

test('output goes to logFile, and the child outlives the Node process that started it', async (t) => {
  const dir = tmp(t);
  const logFile = join(dir, 'connect.log');
  const { pid, startTime } = await startFromHelper(
    `echo started; echo oops >&2; sleep 0.5; echo alive >> ${logFile}; sleep 30`,
    logFile,
  );
  reap(t, pid);
  // The parent has exited by now; 'alive' is written afterwards.
  assert.ok(!readFileSync(logFile, 'utf8').includes('alive'), 'helper exited before the child wrote "alive"');
  await eventually(() => readFileSync(logFile, 'utf8').includes('alive'), 5000, '"alive" in the log');
  assert.equal(readFileSync(logFile, 'utf8'), 'started\noops\nalive\n');
  assert.ok(processAlive(pid, startTime), 'child still alive after its parent died');
  assert.notEqual(readProcStat(pid)?.ppid, process.pid);
  process.kill(-pid, 'SIGKILL');
  await eventually(() => !processGroupAlive(pid), 3000, 'group killed');
});

test('adopt: running; killed externally → exited resolves by polling', async (t) => {
  const { pid, startTime } = await startFromHelper('exec sleep 30');
  reap(t, pid);
  const s = Supervised.adopt(pid, log, { pollMs: 50, startTime });
  assert.ok(s);
  assert.equal(s.pid, pid);
  assert.equal(s.startTime, startTime);
  assert.equal(s.pgid, pid);
  assert.ok(s.running);
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await within(s.exited, 3000, 'adopted exit noticed'), { code: null, signal: null });
  assert.equal(s.running, false);
});

test('adopt: dead pid, wrong start time, zombie, ourselves → undefined', async (t) => {
  const dir = tmp(t);
  assert.equal(Supervised.adopt(4_194_305, log), undefined); // above any pid_max
  assert.equal(Supervised.adopt(0, log), undefined);
  assert.equal(Supervised.adopt(process.pid, log), undefined);
  // A zombie: `sleep 0.1` whose parent (exec'd into sleep 30) never reaps it.
  const zFile = join(dir, 'z.pid');
  const { pid, startTime } = await startFromHelper(`sleep 0.1 & echo $! > ${zFile}; exec sleep 30`);
  reap(t, pid);
  assert.equal(Supervised.adopt(pid, log, { startTime: startTime + 1 }), undefined, 'wrong start time');
  await eventually(() => existsSync(zFile) && readProcStat(readPid(zFile))?.state === 'Z', 3000, 'zombie appears');
  const zombie = readPid(zFile);
  assert.equal(Supervised.adopt(zombie, log), undefined, 'zombie counts as dead');
  // stop() of an adopted process: SIGTERM to its group; a group of zombies only is not alive.
  const s = Supervised.adopt(pid, log, { startTime });
  assert.ok(s);
  const reason: ExitReason = await within(s.stop({ graceMs: 1000 }), 5000, 'adopted stop');
  assert.deepEqual(reason, { code: null, signal: null });
  assert.equal(processAlive(pid), false);
  assert.equal(processGroupAlive(pid), false);
});

test('adopt + stop() kills the whole group of an adopted leader', async (t) => {
  const dir = tmp(t);
  const bgFile = join(dir, 'bg.pid');
  const { pid, startTime } = await startFromHelper(`sleep 30 & echo $! > ${bgFile}; wait`);
  reap(t, pid);
  await eventually(() => existsSync(bgFile) && readFileSync(bgFile, 'utf8').endsWith('\n'), 3000, 'bg pid');
  const bg = readPid(bgFile);
  const s = Supervised.adopt(pid, log, { startTime, pollMs: 50 });
  assert.ok(s);
  await within(s.stop(), 5000, 'stop');
  assert.equal(processAlive(bg), false);
  assert.equal(processGroupAlive(pid), false);
});

// Both ways of starting (posix_spawn; child_process when a user is set) give the child the same
// world. Read from outside, from /proc, of a program the shell exec'd: a shell that forks blocks
// every signal for a moment (dash), so a child of it reading its parent's mask may see that.
for (const [how, extra] of [
  ['posix_spawn', {}],
  ['child_process (a user set)', { user: 'root' }],
] as const) {
  test(`${how}: own session and group, default signals, empty mask, only fds 0-2, stdin /dev/null, env and cwd`, async (t) => {
    const dir = tmp(t);
    const s = Supervised.start(
      { command: 'exec sleep 30', env: { MARK: 'here' }, cwd: dir, logFile: join(dir, 'log'), ...extra },
      log,
    );
    reap(t, s.pid);
    await eventually(() => readFileSync(`/proc/${s.pid}/cmdline`, 'latin1').startsWith('sleep'), 3000, 'exec');
    const st = readProcStat(s.pid)!;
    assert.equal(st.session, s.pid, 'a session of its own');
    assert.equal(st.pgrp, s.pid, 'leads its process group');
    const status = readFileSync(`/proc/${s.pid}/status`, 'utf8');
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+(\\w+)`, 'm').exec(status)![1]}`);
    assert.equal(mask('SigBlk'), 0n, 'no signal blocked');
    // Signals 1-31 (SIGPIPE: Node ignores it, a child must not). glibc's posix_spawn leaves its
    // two internal signals (32, 33) ignored on purpose; programs that use them set handlers.
    assert.equal(mask('SigIgn') & 0x7fffffffn, 0n, 'no standard signal ignored');
    // The loader may hold a library open for a moment after exec: wait for it to settle.
    const fds = () => readdirSync(`/proc/${s.pid}/fd`).map(Number).sort();
    await eventually(() => fds().join() === '0,1,2', 3000, `only fds 0-2 (have ${fds()})`);
    assert.equal(readlinkSync(`/proc/${s.pid}/fd/0`), '/dev/null');
    assert.equal(readlinkSync(`/proc/${s.pid}/fd/1`), join(dir, 'log'));
    assert.equal(readlinkSync(`/proc/${s.pid}/fd/2`), join(dir, 'log'));
    assert.equal(readlinkSync(`/proc/${s.pid}/cwd`), dir);
    assert.ok(readFileSync(`/proc/${s.pid}/environ`, 'utf8').split('\0').includes('MARK=here'));
    await within(s.stop({ graceMs: 1000 }), 5000, 'stop');
  });
}

test('wait statuses decode like the shell reports them', () => {
  const cases: [number, { code: number | null; signal: string | null }][] = [
    [0, { code: 0, signal: null }],
    [3 << 8, { code: 3, signal: null }],
    [255 << 8, { code: 255, signal: null }],
    [9, { code: null, signal: 'SIGKILL' }],
    [15 | 0x80, { code: null, signal: 'SIGTERM' }], // with a core dump
    [40, { code: null, signal: 'SIG40' }],
  ];
  for (const [status, want] of cases) assert.deepEqual(decodeWaitStatus(status), want, String(status));
});

test('a script without a #! line runs through /bin/sh, as execvp (child_process) would run it', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'noshebang'), `echo ran > ${join(dir, 'out')}\n`, { mode: 0o755 });
  const s = Supervised.start({ command: 'x', argv: [join(dir, 'noshebang')], cwd: dir }, log);
  reap(t, s.pid);
  assert.deepEqual(await within(s.exited, 5000, 'exited'), { code: 0, signal: null });
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'ran\n');
});

test('a program that is not there: the start throws a coded error', () => {
  assert.throws(
    () => Supervised.start({ command: 'x', argv: ['/nonexistent/program'], cwd: '/' }, log),
    (e: unknown) => e instanceof UplinkError && e.code === 'SPAWN',
  );
});

test('the SIGCHLD reaper: a start from inside an exit callback loses no exit and adds no listener', async () => {
  const seen: string[] = [];
  const keep = setInterval(() => {}, 1000); // the children do not hold the loop
  try {
    const start = (cmd: string) => posixSpawn({ file: '/bin/sh', argv: ['sh', '-c', cmd], env: {}, cwd: '/' })!;
    await new Promise<void>((done) => {
      onExit(start('exit 1'), (r) => seen.push(`first ${r.code}`));
      onExit(start('exit 2'), (r) => {
        seen.push(`second ${r.code}`);
        assert.ok(process.listenerCount('SIGCHLD') <= 1, 'one listener at most');
        onExit(start('exit 3'), (r3) => {
          seen.push(`third ${r3.code}`);
          done();
        });
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen.sort(), ['first 1', 'second 2', 'third 3']);
  } finally {
    clearInterval(keep);
  }
});
