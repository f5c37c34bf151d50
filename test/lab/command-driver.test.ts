/**
 * A dial-up uplink: its connect command sleeps like a modem, then creates a veth
 * into the ISP namespace. Killing it re-dials after the holdoff; dials that fail
 * back off until the uplink is blocked; `uplink unblock` dials again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { modemUp } from '../../src/lab/demand.js';
import { monitor, startDaemon } from '../../src/lab/daemon.js';

test('command driver: killed → re-dialled; failing dials → blocked; unblock → dials again', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw', { forwarding: true });
  const isp = await lab.ns('isp', { forwarding: true });
  const failFlag = lab.tempFile('modem-busy', '');
  rmSync(failFlag);
  const script = lab.tempFile(
    'connect.sh',
    `#!/bin/sh
ip link del dial0 2>/dev/null
if [ -e ${failFlag} ]; then echo "modem busy"; exit 1; fi
sleep 1
ip link add dial0 type veth peer name dialp netns ${isp.name}
ip -n ${isp.name} addr add 100.64.0.1/30 dev dialp
${modemUp({ ispNs: isp.name, ispDev: 'dialp', dev: 'dial0', address: '100.64.0.2/30' }).join('\n')}
echo connected
exec sleep 100000
`,
  );
  const d = await startDaemon(
    lab,
    gw,
    `uplinks:
  dial:
    interface: dial0
    gateway: 100.64.0.1
    connect: "sh ${script}"
    disconnect: "ip link del dial0"
    # Slow enough that a loaded CI machine does not fail probes (an extra, probe-caused re-dial).
    probe: { interval: 500ms, timeout: 400ms, down_after: 3, up_after: 1 }
    redial: { retries: 2, backoff: 300ms, max_backoff: 1s, holdoff: 500ms }
`,
  );
  const mon = await monitor(d.socket);
  t.after(() => mon.close());
  try {
    await scenario();
  } catch (e) {
    // On failure, the daemon's own account of the dials is the first thing to read.
    t.diagnostic(
      d.proc
        .lines('stderr')
        .filter((l) => /dial|hang|→|selected/.test(l))
        .slice(-40)
        .join('\n'),
    );
    throw e;
  }

  async function scenario() {
    const dial = async () => (await d.status()).uplinks[0];
    const first = await waitFor(
      async () => {
        const u = await dial();
        return u.state === 'up' && u;
      },
      { timeoutMs: 10_000, what: 'dialled and up' },
    );
    assert.equal(first.dial?.attempts, 1);
    assert.equal(first.selected, true);

    // The modem process dies: noticed at once, re-dialled after the holdoff.
    const killedAt = Date.now();
    process.kill(first.dial!.pid!, 'SIGKILL');
    await waitFor(async () => (await dial()).state !== 'up', { timeoutMs: 500, what: 'death noticed' });
    const again = await waitFor(
      async () => {
        const u = await dial();
        return u.state === 'up' && u.dial!.attempts === 2 && u;
      },
      { timeoutMs: 10_000, what: 're-dialled and up' },
    );
    const dialEvents = mon.events.filter((e) => e.type === 'uplink' && e.event === 'dial');
    assert.ok(Date.parse(dialEvents.at(-1)!.time) - killedAt >= 500, 'holdoff respected');
    assert.notEqual(again.dial!.pid, first.dial!.pid);

    // Now every dial fails (modem busy): 1 + retries dials, then blocked.
    writeFileSync(failFlag, '');
    process.kill(again.dial!.pid!, 'SIGKILL');
    const blocked = await waitFor(
      async () => {
        const u = await dial();
        return u.state === 'blocked' && u;
      },
      { timeoutMs: 15_000, what: 'blocked after retries' },
    );
    assert.equal(blocked.dial!.attempts, 2 + 3);
    assert.match(blocked.reason ?? '', /gave up after 3 failed dial/);
    assert.ok(mon.events.some((e) => e.type === 'uplink' && e.event === 'blocked'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await dial()).dial!.attempts, 5, 'no dialing while blocked');

    rmSync(failFlag);
    const u = await d.cli(['unblock', 'dial']);
    assert.equal(u.code, 0, u.stderr);
    await waitFor(
      async () => {
        const x = await dial();
        return x.state === 'up' && x.dial!.attempts === 6;
      },
      { timeoutMs: 10_000, what: 'dials again after unblock' },
    );
    const after = (await dial()).dial!;
    assert.equal(after.failures, 0, 'a good dial starts the row of failures afresh');
    assert.equal(after.failedTotal, 3, 'the total of failed dials is kept (the metric is a counter)');

    // down hangs up through the disconnect command; up dials again.
    await d.cli(['down', 'dial']);
    await waitFor(
      async () =>
        (await dial()).state === 'disabled' &&
        !(await gw.ip(['link', 'show', 'dial0'], { check: false })).stdout.includes('dial0'),
      { what: 'hung up' },
    );
    await d.cli(['up', 'dial']);
    await waitFor(async () => (await dial()).state === 'up', { timeoutMs: 10_000, what: 'up again' });
  }
});
