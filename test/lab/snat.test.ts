/**
 * SNAT to a fixed address, with real traffic: a long-lived UDP flow from the LAN leaves
 * the primary SNATed to its fixed address; after failover the same flow (same socket)
 * must arrive from the backup's address. Without releasing the conntrack entry, the flow
 * would keep the primary's address on the backup and the BCP 38 ISP would drop it forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

/** Prints the source address of every datagram it receives. */
const SINK = (port: number) =>
  `const s = require('node:dgram').createSocket('udp4'); s.on('message', (m, r) => console.log('from ' + r.address + ' ' + m)); s.bind(${port}, '${SERVER}', () => console.log('listening'));`;
/** One socket, one flow: a datagram every 50 ms, for as long as it runs. */
const FLOW = (port: number) =>
  `const s = require('node:dgram').createSocket('udp4'); let n = 0; s.bind(40123, () => setInterval(() => s.send(String(n++), ${port}, '${SERVER}'), 50));`;

test("snat: a flow pinned to the primary's fixed address continues from the backup's after failover", async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const config = twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' }).replace(
    'failback_delay: 2s }',
    `failback_delay: 2s, snat: ${GW_WAN1} }`,
  );
  const d = await startDaemon(lab, topo.gw, config);
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  await waitFor(async () => (await d.status()).firewall.generation > 0, { what: 'firewall applied' });
  assert.match(
    (await topo.gw.exec(['nft', 'list', 'chain', 'inet', 'uplinkd', 'nat_post'])).stdout,
    new RegExp(`oifname "wan1" snat ip to ${GW_WAN1.replace(/\./g, '\\.')}`),
  );

  const sink = topo.inet.spawn(process.execPath, ['-e', SINK(7000)]);
  await sink.waitForLine(/listening/);
  topo.lan.spawn(process.execPath, ['-e', FLOW(7000)]);
  await sink.waitForLine(new RegExp(`from ${GW_WAN1.replace(/\./g, '\\.')} `), { timeoutMs: 5000 });

  await topo.blackhole('isp1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 5000, what: 'failover' });
  // The same socket, so the same conntrack entry unless it was released.
  await sink.waitForLine(new RegExp(`from ${GW_WAN2.replace(/\./g, '\\.')} `), { timeoutMs: 5000 });
  await d.proc.waitForLine(
    new RegExp(`conntrack: released [1-9]\\d* flow\\(s\\) pinned by SNAT to ${GW_WAN1.replace(/\./g, '\\.')}`),
    { timeoutMs: 1000 },
  );
});
