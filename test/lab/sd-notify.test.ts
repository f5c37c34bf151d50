/**
 * sd_notify against a notify socket the test owns, as systemd would hold it for a
 * Type=notify unit: READY=1 only once the control socket answers, WATCHDOG=1 at half of
 * $WATCHDOG_USEC, STATUS= lines, and STOPPING=1 on quit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labForTest } from '../../src/lab/harness.js';
import { labConfig, startDaemon } from '../../src/lab/daemon.js';
import { openNotifyReceiver } from '../../src/lab/notify-socket.js';
import { rpc } from '../../src/control/client.js';

const UPLINKS = `uplinks:
  wan1: { interface: wan1, priority: 10 }
`;
const WATCHDOG_USEC = 2_000_000;

test('sd_notify: READY after the control socket answers, WATCHDOG at half the interval, STOPPING on quit', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const notify = await openNotifyReceiver();
  t.after(() => notify.close());
  const configFile = lab.tempFile('uplinkd.yaml', '');
  writeFileSync(configFile, labConfig(dirname(configFile), UPLINKS));
  const socket = join(dirname(configFile), 'uplinkd.sock');

  // At READY=1 the control socket must already answer: ask it the moment READY arrives.
  const pingAtReady = notify
    .next((m) => m.split('\n').includes('READY=1'), 20_000)
    .then(async (m) => {
      const pong = await rpc(socket, 'ping').then(
        () => true,
        () => false,
      );
      return { m, pong };
    });
  const d = await startDaemon(lab, gw, '', {
    configFile,
    env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: String(WATCHDOG_USEC) },
  });
  const ready = await pingAtReady;
  assert.ok(ready.pong, 'the control socket answered when READY=1 arrived');
  assert.match(ready.m, /^STATUS=.+/m, 'READY carries a status line');
  assert.match(ready.m, new RegExp(`^MAINPID=${d.proc.pid}$`, 'm'), 'MAINPID is the daemon');

  // WATCHDOG=1 every half interval (1 s): five pings, spaced 1 s apart, give or take.
  const at: number[] = [];
  for (let i = 0; i < 5; i++) {
    await notify.next((m) => m.split('\n').includes('WATCHDOG=1'), WATCHDOG_USEC / 1000);
    at.push(Date.now());
  }
  const gaps = at.slice(1).map((x, i) => x - at[i]!);
  for (const g of gaps) assert.ok(g > 600 && g < 1500, `watchdog gaps ${gaps.join(', ')} ms around 1000`);

  assert.equal((await d.cli(['quit'])).code, 0);
  const stopping = await notify.next((m) => m.split('\n').includes('STOPPING=1'), 10_000);
  assert.match(stopping, /^STATUS=stopping: quit requested/m);
  await d.proc.exited;
});
