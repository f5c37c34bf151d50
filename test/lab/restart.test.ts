/**
 * Hitless restarts (docs/architecture.md, principle 8): kill -9 and a new daemon never take
 * the default route away; `quit --teardown` removes everything of ours and
 * nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, ISP2_DOWN, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

test('kill -9 and restart: the default route stays on wan1 throughout; quit --teardown removes only ours', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  await topo.gw.ip(['route', 'add', 'default', 'via', ISP2_DOWN, 'metric', '500']);
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig());
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  await waitFor(async () => (await d.status()).daemon.judged, { what: 'first round judged' });

  const seen: (string | undefined)[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.push(await routeDev(topo.gw, SERVER));
      await sleep(10);
    }
  })();
  d.proc.kill('SIGKILL');
  await d.proc.exited;
  await sleep(500);
  const again = await startDaemon(lab, topo.gw, '', { configFile: d.configFile });
  const s = await again.status();
  assert.equal(s.uplinks[0].state, 'up', 'adopted from the state file');
  assert.equal(s.selection.selected, 'wan1');
  await waitFor(async () => (await again.status()).daemon.judged, { what: 'judged after restart' });
  await sleep(500);
  watching = false;
  await watcher;
  assert.ok(seen.length > 20);
  assert.deepEqual([...new Set(seen)], ['wan1'], 'the route never left wan1');

  const q = await again.cli(['quit', '--teardown']);
  assert.equal(q.code, 0, q.stderr);
  const rules = (await topo.gw.ip(['rule', 'show'])).stdout + (await topo.gw.ip(['-6', 'rule', 'show'])).stdout;
  const routes =
    (await topo.gw.ip(['route', 'show', 'table', 'all'])).stdout +
    (await topo.gw.ip(['-6', 'route', 'show', 'table', 'all'])).stdout;
  assert.doesNotMatch(rules, /proto 201/);
  assert.doesNotMatch(routes, /proto 201/);
  assert.match(routes, new RegExp(`default via ${ISP2_DOWN} dev wan2 metric 500`), 'the foreign default is untouched');
  assert.equal(await routeDev(topo.gw, SERVER), 'wan2', "traffic falls back to the admin's own default");
});
