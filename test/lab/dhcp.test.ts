/**
 * `address: dhcp` against the real dnsmasq as each ISP's DHCP server: uplinkd runs busybox
 * udhcpc per uplink, puts the leased address on the link and the leased gateway into the
 * uplink's own table (nothing into main), and follows renewals (silent), a new address (NAK,
 * new lease) and expiry. Both uplinks at once: any number of DHCP uplinks work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, LAN_HOST, SERVER } from '../../src/lab/topology.js';
import { dhcpCustomerLinks, dnsmasq } from '../../src/lab/dhcp.js';
import { countersIn } from './uplinks-lab.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, address: dhcp, probe: { profile: fast, targets: [${SERVER}] }, failback_delay: 1s }
  wan2: { interface: wan2, mode: backup, priority: 20, address: dhcp, probe: { profile: fast, targets: [${SERVER}] }, failback_delay: 1s }
lan:
  - { interface: lan0, zone: lan }
`;

test('two DHCP uplinks: both leased and up, masquerade, failover and back, silent renewals, a new address, expiry', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { bcp38: false });
  const { gw, isp1, isp2, inet } = topo;
  await dhcpCustomerLinks(topo);
  let server1 = dnsmasq(lab, isp1, { first: '198.51.100.2', last: '198.51.100.2', router: '198.51.100.1' });
  const server2 = dnsmasq(lab, isp2, { first: '203.0.113.2', last: '203.0.113.2', router: '203.0.113.1' });
  const seen = await countersIn(inet, {
    // The LAN's pings carry 200 bytes (IP length 228); the gateway's own probes are smaller.
    from2: 'ip saddr 198.51.100.2 ip length 228 icmp type echo-request',
    from5: 'ip saddr 198.51.100.5 ip length 228 icmp type echo-request',
    fromWan2: 'ip saddr 203.0.113.2 ip length 228 icmp type echo-request',
  });

  const t0 = Date.now();
  const d = await startDaemon(lab, gw, CONFIG);
  const uplink = async (name: string) => (await d.status()).uplinks.find((u) => u.name === name)!;
  await waitFor(
    async () => {
      const [a, b] = [await uplink('wan1'), await uplink('wan2')];
      return a.state === 'up' && b.state === 'up';
    },
    { timeoutMs: 20_000, what: 'both DHCP uplinks up' },
  );
  t.diagnostic(`both DHCP uplinks up ${Date.now() - t0} ms after the daemon started`);
  const w1 = await uplink('wan1');
  assert.equal(w1.gateways?.ipv4, '198.51.100.1', 'the gateway comes from the lease');
  assert.equal(w1.dhcp?.address, '198.51.100.2/24');
  assert.equal(w1.dhcp?.server, '198.51.100.1');
  assert.equal((await uplink('wan2')).gateways?.ipv4, '203.0.113.1', 'the second DHCP uplink has its gateway too');
  const tables = async () => (await gw.ip(['route', 'show', 'table', 'all', 'proto', '201'])).stdout;
  assert.match(await tables(), /default via 198\.51\.100\.1 dev wan1 table 7301/);
  assert.match(await tables(), /default via 203\.0\.113\.1 dev wan2 table 7302/);
  assert.doesNotMatch((await gw.ip(['route', 'show', 'default'])).stdout, /via/, 'nothing of ours in main');
  // The server's expiry starts with this lease: stop it now, and wan2's lease runs out at the end.
  const wan2BoundAt = Date.parse((await uplink('wan2')).dhcp!.obtainedAt!);
  await server2.stop();

  const lanPing = async () =>
    (await topo.lan.exec(['ping', '-c1', '-W1', '-s', '200', SERVER], { check: false })).code === 0;
  // wan2 may have come up first; wan1 wins traffic back after its failback delay.
  await waitFor(async () => (await d.status()).selection.selected === 'wan1', {
    timeoutMs: 10_000,
    what: 'wan1 selected',
  });
  assert.ok(await lanPing(), 'the LAN reaches the server');
  assert.ok((await seen()).from2 >= 1, 'masqueraded to the leased address of wan1');

  // A renewal changes no route and no rule.
  const rules = async () => (await gw.ip(['rule', 'show'])).stdout;
  const [tablesBefore, rulesBefore] = [await tables(), await rules()];
  const leaseFile = w1.dhcp!.leaseFile;
  const renewals = () =>
    readFileSync(leaseFile, 'utf8')
      .split('\n')
      .filter((l) => / renew /.test(l)).length;
  const before = renewals();
  process.kill(w1.dhcp!.pid!, 'SIGUSR1');
  await waitFor(async () => renewals() > before, { timeoutMs: 10_000, what: 'a renewal' });
  await sleep(500);
  assert.equal(await tables(), tablesBefore, 'routes unchanged by the renewal');
  assert.equal(await rules(), rulesBefore, 'rules unchanged by the renewal');

  // A silent death of isp1 moves the LAN to wan2; its recovery brings it back.
  const lanVia = async () => {
    const r = await gw.ip(['route', 'get', SERVER, 'from', LAN_HOST, 'iif', 'lan0'], { check: false });
    return /\bdev (\S+)/.exec(r.stdout)?.[1];
  };
  assert.equal(await lanVia(), 'wan1', 'the LAN leaves through wan1 before');
  await topo.blackhole('isp1');
  const tDeath = Date.now();

  await waitFor(async () => (await lanVia()) === 'wan2', {
    timeoutMs: 5000,
    what: 'failover to wan2',
  });
  t.diagnostic(`LAN route on wan2 ${Date.now() - tDeath} ms after isp1 went silent`);
  await waitFor(lanPing, { timeoutMs: 5000, what: 'the LAN through wan2' });
  assert.ok((await seen()).fromWan2 >= 1, 'masqueraded to wan2');
  await topo.unblackhole('isp1');
  await waitFor(async () => (await d.status()).selection.selected === 'wan1', { timeoutMs: 15_000, what: 'failback' });

  // The ISP renumbers: its server now hands out .5 and refuses the renewal of .2.
  await server1.stop();
  server1 = dnsmasq(lab, isp1, { first: '198.51.100.5', last: '198.51.100.5', router: '198.51.100.1' });
  await sleep(300);
  const tRenumber = Date.now();
  process.kill((await uplink('wan1')).dhcp!.pid!, 'SIGUSR1');
  await waitFor(async () => (await uplink('wan1')).dhcp?.address === '198.51.100.5/24', {
    timeoutMs: 30_000,
    what: 'wan1 leased the new address',
  });
  await waitFor(async () => (await uplink('wan1')).state === 'up' && (await d.status()).selection.selected === 'wan1', {
    timeoutMs: 15_000,
    what: 'wan1 up and selected on its new address',
  });
  t.diagnostic(`renumbered (NAK, new lease, up on .5) ${Date.now() - tRenumber} ms after the renewal request`);
  const get = (await gw.ip(['route', 'get', SERVER, 'from', '198.51.100.5'], { check: false })).stdout;
  assert.match(get, /via 198\.51\.100\.1 dev wan1/, `ip route get … from the new address: ${get}`);
  const addrs = (await gw.ip(['-4', 'addr', 'show', 'dev', 'wan1'])).stdout;
  assert.doesNotMatch(addrs, /198\.51\.100\.2\//, 'the previous address is gone');
  await waitFor(lanPing, { timeoutMs: 5000, what: 'the LAN through the new address' });
  assert.ok((await seen()).from5 >= 1, 'traffic flows from the new address');

  // wan2's server is gone: its two-minute lease runs out and takes the uplink down.
  const left = wan2BoundAt + 125_000 - Date.now();
  if (left > 0) await sleep(left);
  await waitFor(async () => (await uplink('wan2')).state === 'down', {
    timeoutMs: 20_000,
    what: 'wan2 down on expiry',
  });
  assert.equal((await uplink('wan2')).reason, 'no DHCP lease');
  assert.doesNotMatch(
    (await gw.ip(['-4', 'addr', 'show', 'dev', 'wan2'])).stdout,
    /203\.0\.113\.2\//,
    'address removed',
  );
});
