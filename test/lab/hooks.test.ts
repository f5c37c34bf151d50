/**
 * Hooks with real processes: a hook sees the documented environment; one that sleeps forever
 * is killed at hooks.timeout with its children; a thousand carrier flaps of one uplink run a
 * bounded number of hooks (stale events dropped) while the other uplink's hooks still run
 * promptly; a hook others may write to is refused, naming the path.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { alive, fileLines } from '../../src/lab/files.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

const lines = fileLines;

test('hooks: environment, timeout with children, a flapping uplink bounded, the other prompt, untrusted refused', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const dir = join(lab.tempFile('hooks-here', ''), '..', 'hooks.d');
  mkdirSync(dir, { mode: 0o755 });
  const log = join(dir, '..', 'hook-runs');
  const hook = (name: string, body: string, mode = 0o755) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, mode);
  };
  // 10: records every run with its environment; 20: hangs (with a child) on wan1's "up".
  hook('10-record', `echo "$(date +%s%N) $UPLINK $IFACE $EVENT $STATE $PREV_STATE $ADDRESS $GATEWAY $1" >> ${log}`);
  hook(
    '20-hang',
    `[ "$UPLINK $EVENT" = "wan1 up" ] && [ ! -e ${log}.hung ] && { touch ${log}.hung; sleep 1000 & echo $! > ${log}.child; wait; }; exit 0`,
  );
  hook('30-writable', 'echo never', 0o777);
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ extra: `hooks: { dir: ${dir}, timeout: 2s }\n` }));

  await waitFor(async () => lines(log).some((l) => / wan1 wan1 up up /.test(l)), {
    timeoutMs: 10_000,
    what: 'wan1 up hook',
  }).catch(async (e) => {
    t.diagnostic(JSON.stringify({ runs: lines(log), hooks: (await d.status()).hooks }));
    throw e;
  });
  const up = lines(log)
    .find((l) => / wan1 wan1 up up /.test(l))!
    .split(' ');
  assert.deepEqual(up.slice(1, 8), ['wan1', 'wan1', 'up', 'up', 'verifying', '198.51.100.2', '198.51.100.1']);
  assert.equal(up[8], 'up', 'the event is also $1');
  await waitFor(async () => lines(log).some((l) => / wan1 wan1 selected /.test(l)), { what: 'selected hook' });

  // The hanging hook is killed at the timeout, its child with it.
  await waitFor(async () => lines(`${log}.child`).length === 1, { what: 'hanging hook started' });
  const child = Number(lines(`${log}.child`)[0]);
  await waitFor(async () => !alive(child), { timeoutMs: 6000, what: 'the hung hook and its child killed' });
  const refused = (await d.status()).hooks.refused;
  assert.equal(refused.length, 1);
  assert.match(refused[0]!.problem, /30-writable is writable by others/);

  // A thousand flaps of wan1's carrier, while wan2 goes down once.
  const before = lines(log).filter((l) => / wan1 /.test(l)).length;
  // One ip per change, so that each is a carrier change gw sees (a batch is faster than linkwatch).
  const flapping = topo.isp1.exec([
    'sh',
    '-c',
    'i=0; while [ $i -lt 1000 ]; do ip link set dev down down; ip link set dev down up; i=$((i+1)); done',
  ]);
  await sleep(200);
  const t0 = Date.now();
  await topo.carrierDown('isp2');
  await waitFor(async () => lines(log).some((l) => / wan2 wan2 down /.test(l)), {
    timeoutMs: 5000,
    what: "wan2's down hook",
  });
  const wan2Ms = Date.now() - t0;
  await flapping;
  await sleep(3000);
  const wan1Runs = lines(log).filter((l) => / wan1 /.test(l)).length - before;
  t.diagnostic(JSON.stringify({ flaps: 1000, wan1HookRuns: wan1Runs, wan2DownHookMs: wan2Ms }));
  assert.ok(wan1Runs >= 1, 'the flaps were events');
  assert.ok(wan1Runs < 200, `${wan1Runs} hook runs for 1000 flaps: stale events are dropped`);
  assert.ok(wan2Ms < 3000, `wan2's hook ran ${wan2Ms} ms after its event`);
  assert.equal((await d.cli(['quit'])).code, 0);
});
