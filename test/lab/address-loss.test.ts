/**
 * Removing an uplink's address makes the kernel drop every route through the gateway that
 * address made reachable — in every table, unannounced. uplinkd re-reads its routes: no
 * retry storm of deletes the kernel answers "No such process", status says down meanwhile,
 * and the table is whole again as soon as an address returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, ISP1_DOWN, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

test('an address removed under the daemon: down meanwhile, no retry storm, table repaired when it returns', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const { gw } = topo;
  const d = await startDaemon(lab, gw, twoUplinkConfig({ failback: '0s' }));
  const wan1 = async () => (await d.status()).uplinks.find((u) => u.name === 'wan1')!;
  await waitFor(async () => (await wan1()).state === 'up', { timeoutMs: 15_000, what: 'wan1 up' });
  const table = async () => (await gw.ip(['route', 'show', 'table', '7301'])).stdout;
  assert.match(await table(), new RegExp(`default via ${ISP1_DOWN} dev wan1`));

  await gw.ip(['addr', 'del', `${GW_WAN1}/30`, 'dev', 'wan1']);
  await waitFor(async () => (await wan1()).state === 'down', { timeoutMs: 5000, what: 'wan1 down' });
  // Its IPv6 address stays (and no IPv6 gateway is configured): no IPv4 address, so no gateway.
  assert.match((await wan1()).reason ?? '', /^no (address|gateway known)$/);
  assert.doesNotMatch(await table(), /default via/, 'the kernel dropped the route with the address');
  const runs = (await d.status()).reconcile.runs;
  await sleep(3000);
  const s = await d.status();
  assert.deepEqual(
    s.reconcile.failing.map((f) => f.op),
    [],
    'nothing refused and retried (a delete of the vanished route would be)',
  );
  assert.ok(s.reconcile.runs - runs < 40, `the loop idles: ${s.reconcile.runs - runs} runs in 3 s`);

  await gw.ip(['addr', 'add', `${GW_WAN1}/30`, 'dev', 'wan1']);
  await waitFor(async () => new RegExp(`default via ${ISP1_DOWN} dev wan1`).test(await table()), {
    timeoutMs: 5000,
    what: "wan1's table repaired",
  });
  assert.equal(await routeDev(gw, SERVER, GW_WAN1), 'wan1', 'ip route get … from the address works');
  await waitFor(async () => (await wan1()).state === 'up' && (await d.status()).selection.selected === 'wan1', {
    timeoutMs: 15_000,
    what: 'wan1 up and selected again',
  });
});
