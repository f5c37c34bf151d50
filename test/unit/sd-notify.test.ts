/** system/sd-notify and daemon/sd-notify: datagrams to a notify socket, and what the daemon says there. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { NotifySocket, notifySocketFromEnv, sdNotify, watchdogIntervalMs } from '../../src/system/sd-notify.js';
import { SystemdNotifier } from '../../src/daemon/sd-notify.js';
import { openNotifyReceiver } from '../../src/lab/notify-socket.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: 'silent' });

test('sdNotify delivers to a path socket, one datagram per message, newlines and all', async (t) => {
  const rx = await openNotifyReceiver();
  t.after(() => rx.close());
  assert.ok(rx.path.startsWith('/'));
  assert.equal(sdNotify(rx.path, 'READY=1'), true);
  const multi = 'READY=1\nSTATUS=up: 2 uplinks, wan1 active\nMAINPID=4242';
  assert.equal(sdNotify(rx.path, multi), true);
  assert.equal(await rx.next((m) => m === 'READY=1', 2000), 'READY=1');
  assert.equal(await rx.next((m) => m.startsWith('READY=1\n'), 2000), multi);
  assert.deepEqual(rx.messages, ['READY=1', multi]);
});

test('sdNotify delivers to an abstract socket (@name)', async (t) => {
  const rx = await openNotifyReceiver(`@uplinkd-test-${process.pid}-${Math.random().toString(36).slice(2)}`);
  t.after(() => rx.close());
  assert.equal(sdNotify(rx.path, 'WATCHDOG=1'), true);
  assert.equal(await rx.next((m) => m === 'WATCHDOG=1', 2000), 'WATCHDOG=1');
});

test('a missing socket, abstract name or impossible path returns false without throwing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-notify-missing-'));
  try {
    assert.equal(sdNotify(join(dir, 'nobody.sock'), 'READY=1'), false);
    assert.equal(sdNotify(`@uplinkd-nobody-${process.pid}-${Date.now()}`, 'READY=1'), false);
    assert.equal(sdNotify(`/${'x'.repeat(200)}`, 'READY=1'), false);
    assert.equal(sdNotify('@', 'READY=1'), false);
    const s = new NotifySocket(join(dir, 'nobody.sock'));
    assert.equal(s.send('READY=1'), false);
    assert.match(s.lastError ?? '', /ENOENT|ECONNREFUSED/);
    s.close();
    s.close(); // twice is fine
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NotifySocket reuses its one socket and works again once the receiver is there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-notify-late-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'notify.sock');
  const s = new NotifySocket(path);
  t.after(() => s.close());
  assert.equal(s.send('READY=1'), false);
  const rx = await openNotifyReceiver(path);
  t.after(() => rx.close());
  assert.equal(s.send('READY=1'), true);
  assert.equal(s.send('STATUS=two'), true);
  assert.equal(s.lastError, undefined);
  await rx.next((m) => m === 'STATUS=two', 2000);
  assert.deepEqual(rx.messages, ['READY=1', 'STATUS=two']);
});

test('notifySocketFromEnv: absolute paths and abstract names only', () => {
  assert.equal(notifySocketFromEnv({}), undefined);
  assert.equal(notifySocketFromEnv({ NOTIFY_SOCKET: '' }), undefined);
  assert.equal(notifySocketFromEnv({ NOTIFY_SOCKET: '/run/systemd/notify' }), '/run/systemd/notify');
  assert.equal(
    notifySocketFromEnv({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify/1' }),
    '@/org/freedesktop/systemd1/notify/1',
  );
  assert.equal(notifySocketFromEnv({ NOTIFY_SOCKET: '@' }), undefined);
  assert.equal(notifySocketFromEnv({ NOTIFY_SOCKET: 'vsock:2:1234' }), undefined);
  assert.equal(notifySocketFromEnv({ NOTIFY_SOCKET: 'relative.sock' }), undefined);
});

test('watchdogIntervalMs: half of WATCHDOG_USEC, only for our pid', () => {
  const pid = process.pid;
  assert.equal(watchdogIntervalMs({}), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }), 15_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(pid) }), 15_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(pid + 1) }), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '77' }, 77), 15_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '3000' }), 1); // 1.5 ms rounds down, never to 0
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1' }), 1);
  for (const bad of ['0', '', '-5', 'abc', '1.5e6'])
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: bad }), undefined, bad);
});

test('SystemdNotifier: READY with STATUS first, WATCHDOG at the interval, STATUS on change, STOPPING, quiet after stop', async (t) => {
  const rx = await openNotifyReceiver();
  t.after(() => rx.close());
  let status = 'starting up';
  const n = new SystemdNotifier({ send: (m) => sdNotify(rx.path, m), watchdogMs: 100, status: () => status, log });
  t.after(() => n.stop());
  await n.start();
  const ready = await rx.next(() => true, 2000);
  assert.equal(ready, `READY=1\nSTATUS=starting up\nMAINPID=${process.pid}`);
  await sleep(350);
  const watchdogs = rx.messages.filter((m) => m.split('\n').includes('WATCHDOG=1'));
  assert.ok(watchdogs.length >= 2, `WATCHDOG=1 ×${watchdogs.length} in 350 ms at 100 ms`);
  assert.ok(!rx.messages.slice(1).some((m) => m.includes('STATUS=')), 'no STATUS= while it did not change');

  status = 'running: wan1 active\n(2 uplinks)';
  const changed = await rx.next((m) => m.includes('STATUS='), 2000);
  assert.ok(changed.split('\n').includes('STATUS=running: wan1 active (2 uplinks)'), changed);

  n.stopping('SIGTERM');
  assert.equal(await rx.next((m) => m.startsWith('STOPPING=1'), 2000), 'STOPPING=1\nSTATUS=stopping: SIGTERM');
  status = 'changed while stopping';
  await sleep(250);
  assert.ok(!rx.messages.some((m) => m.includes('changed while stopping')), 'the stopping status stays');

  await n.stop();
  await sleep(50);
  const count = rx.messages.length;
  await sleep(250);
  assert.equal(rx.messages.length, count, 'nothing sent after stop');
});

test('SystemdNotifier: without a watchdog, only READY and status changes; a READY that failed is sent again', async (t) => {
  const sent: string[] = [];
  let up = false;
  let status = 'a';
  const n = new SystemdNotifier({
    send: (m) => (up ? (sent.push(m), true) : false),
    status: () => status,
    log,
    pid: 99,
  });
  t.after(() => n.stop());
  const timers: number[] = [];
  const real = globalThis.setInterval;
  let tick: () => void = () => {};
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    timers.push(ms);
    tick = fn;
    return real(() => {}, 1 << 30);
  }) as typeof setInterval;
  try {
    await n.start();
  } finally {
    globalThis.setInterval = real;
  }
  assert.deepEqual(timers, [5000]);
  assert.deepEqual(sent, []); // READY did not go
  up = true;
  status = 'b';
  tick();
  assert.deepEqual(sent, ['READY=1\nSTATUS=b\nMAINPID=99']);
  tick();
  assert.deepEqual(sent.length, 1, 'nothing when nothing changed and no watchdog');
  status = 'c';
  tick();
  assert.deepEqual(sent.slice(1), ['STATUS=c']);
});
