/**
 * ICMP probes leave no conntrack entries (two `fast` uplinks kept ~200 alive): they carry our
 * fwmark and are untracked at raw priority; their replies arrive untracked too and are still
 * accepted by the uplinks' ICMP input rule, so both uplinks stay up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2 } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

test('ICMP probes are untracked: no conntrack entries from them, both uplinks up', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' }));
  await waitFor(async () => (await d.status()).uplinks.every((u) => u.state === 'up'), {
    timeoutMs: 15_000,
    what: 'both uplinks up',
  });
  await sleep(2000);
  const table = (await topo.gw.exec(['cat', '/proc/net/nf_conntrack'])).stdout;
  const probes = table
    .split('\n')
    .filter((l) => /\bicmp\b/.test(l) && (l.includes(`src=${GW_WAN1} `) || l.includes(`src=${GW_WAN2} `)));
  assert.deepEqual(probes, [], 'conntrack entries of our probes');
  // As an admin would look: the conntrack tool, ICMP only.
  const listed = (await topo.gw.exec(['conntrack', '-L', '-p', 'icmp'])).stdout;
  const ours = listed.split('\n').filter((l) => l.includes(`src=${GW_WAN1} `) || l.includes(`src=${GW_WAN2} `));
  assert.deepEqual(ours, [], '`conntrack -L -p icmp` shows no probe entries');
  const s = await d.status();
  assert.deepEqual(
    s.uplinks.map((u) => [u.name, u.state]),
    [
      ['wan1', 'up'],
      ['wan2', 'up'],
    ],
    'untracked replies are still accepted',
  );
});
