/**
 * Dual stack: IPv6 defaults follow the selection, and each family is judged by
 * its own probes, so an uplink whose IPv6 dies keeps carrying IPv4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import {
  twoUplinkTopology,
  ISP1_DOWN,
  ISP1_DOWN_6,
  ISP2_DOWN,
  ISP2_DOWN_6,
  SERVER,
  SERVER6,
} from '../../src/lab/topology.js';
import { routeDev } from './uplinks-lab.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, gateway6: "${ISP1_DOWN_6}", probe: { profile: fast, targets: [${SERVER}, "${SERVER6}"] }, failback_delay: 1s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, gateway6: "${ISP2_DOWN_6}", probe: { profile: fast, targets: [${SERVER}, "${SERVER6}"] }, failback_delay: 1s }
`;

test('IPv6 follows the selection; an uplink whose IPv6 dies keeps IPv4 and hands IPv6 to the backup', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, CONFIG);
  await waitFor(
    async () => (await routeDev(topo.gw, SERVER)) === 'wan1' && (await routeDev(topo.gw, SERVER6)) === 'wan1',
    { timeoutMs: 10_000, what: 'both families via wan1' },
  );
  assert.equal(
    (await topo.gw.exec(['ping', '-6', '-c1', '-W1', SERVER6], { check: false })).code,
    0,
    'the gateway reaches the v6 server',
  );

  // isp1 loses IPv6 (neighbour discovery still works, so the link looks fine).
  await topo.isp1.nft(`table ip6 lab_v6dead {
  chain pre { type filter hook prerouting priority -400; iifname "down" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept; iifname "down" drop; }
}
`);
  await waitFor(async () => (await routeDev(topo.gw, SERVER6)) === 'wan2', {
    timeoutMs: 5000,
    what: 'IPv6 moved to wan2',
  });
  assert.equal(await routeDev(topo.gw, SERVER), 'wan1', 'IPv4 stays on wan1');
  const s = await d.status();
  assert.deepEqual(s.uplinks[0].families, { ipv4: true, ipv6: false });
  assert.equal(s.selection.selected, 'wan1');
  assert.equal(
    (await topo.gw.exec(['ping', '-6', '-c1', '-W1', SERVER6], { check: false })).code,
    0,
    'IPv6 works through wan2',
  );

  await topo.isp1.nft('delete table ip6 lab_v6dead\n');
  await waitFor(async () => (await routeDev(topo.gw, SERVER6)) === 'wan1', {
    timeoutMs: 15_000,
    what: 'IPv6 back on wan1',
  });

  // A silent death of the whole uplink moves both families.
  await topo.blackhole('isp1');
  await waitFor(
    async () => (await routeDev(topo.gw, SERVER)) === 'wan2' && (await routeDev(topo.gw, SERVER6)) === 'wan2',
    { timeoutMs: 5000, what: 'both families on wan2' },
  );
});
