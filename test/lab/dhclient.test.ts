/**
 * The admin's own DHCP client: Debian's ISC dhclient with its dhclient-script on both uplinks,
 * dnsmasq in both ISPs. The script puts each lease's default route into main; the second is
 * refused (EEXIST) unless each interface has its own metric (IF_METRIC, which ifupdown sets
 * from `metric` in /etc/network/interfaces). uplinkd learns each gateway from the main-table
 * default through that interface, whatever its metric.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, SERVER } from '../../src/lab/topology.js';
import { dhcpCustomerLinks, dnsmasq } from '../../src/lab/dhcp.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, probe: { profile: fast, targets: [${SERVER}] }, failback_delay: 1s }
  wan2: { interface: wan2, mode: backup, priority: 20, probe: { profile: fast, targets: [${SERVER}] }, failback_delay: 1s }
`;

test("the admin's dhclient with a metric per interface: both gateways learned, both uplinks up", async (t) => {
  const resolvBefore = readFileSync('/etc/resolv.conf', 'utf8');
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { bcp38: false });
  const { gw, isp1, isp2 } = topo;
  await dhcpCustomerLinks(topo);
  dnsmasq(lab, isp1, { first: '198.51.100.2', last: '198.51.100.2', router: '198.51.100.1' });
  dnsmasq(lab, isp2, { first: '203.0.113.2', last: '203.0.113.2', router: '203.0.113.1' });
  const dhclient = (dev: string, metric: number) =>
    gw.spawn('dhclient', [
      '-4',
      '-d',
      '-e',
      `IF_METRIC=${metric}`,
      '-lf',
      lab.tempFile(`dhclient-${dev}.leases`, ''),
      '-pf',
      lab.tempFile(`dhclient-${dev}.pid`, ''),
      dev,
    ]);
  dhclient('wan1', 100);
  dhclient('wan2', 200);
  await waitFor(
    async () => {
      const main = (await gw.ip(['route', 'show', 'default'])).stdout;
      return main.includes('dev wan1') && main.includes('dev wan2');
    },
    { timeoutMs: 20_000, what: "both leases' defaults in main" },
  );
  const d = await startDaemon(lab, gw, CONFIG);
  const uplink = async (name: string) => (await d.status()).uplinks.find((u) => u.name === name)!;
  await waitFor(async () => (await uplink('wan1')).state === 'up' && (await uplink('wan2')).state === 'up', {
    timeoutMs: 15_000,
    what: 'both uplinks up',
  });
  assert.equal((await uplink('wan1')).gateways?.ipv4, '198.51.100.1');
  assert.equal((await uplink('wan2')).gateways?.ipv4, '203.0.113.1');
  const tables = (await gw.ip(['route', 'show', 'table', 'all', 'proto', '201'])).stdout;
  assert.match(tables, /default via 203\.0\.113\.1 dev wan2 table 7302/);
  // dhclient's own routes in main are left alone.
  assert.match((await gw.ip(['route', 'show', 'default'])).stdout, /via 203\.0\.113\.1 dev wan2 .*metric 200/);
  assert.equal(readFileSync('/etc/resolv.conf', 'utf8'), resolvBefore, "the host's resolv.conf is untouched");
});
