// Real-namespace tests of the two-uplink topology's IPv6 side (need root, `ip`, `nft`, `ping`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labForTest, waitFor, type Ns } from '../../src/lab/harness.js';
import {
  GW_WAN1_6,
  GW_WAN2_6,
  INET_ISP1_6,
  ISP1_DOWN_6,
  ISP2_DOWN_6,
  LAN_HOST6,
  LAN_NET6,
  SERVER6,
  twoUplinkTopology,
} from '../../src/lab/topology.js';

const ping6 = (ns: Ns, addr: string, o: { wait?: number; from?: string } = {}) =>
  ns
    .exec(['ping', '-6', '-c1', '-q', `-W${o.wait ?? 1}`, ...(o.from ? ['-I', o.from] : []), addr], { check: false })
    .then((r) => r.code === 0);

const linkFlags = async (ns: Ns, dev: string) =>
  (await ns.ipJson<{ flags: string[] }[]>(['link', 'show', 'dev', dev]))[0]!.flags;

/** Packets counted by the IPv6 rule(s) of an ISP's lab_bcp38 table. */
async function bcp38v6Drops(isp: Ns): Promise<number> {
  const j = JSON.parse((await isp.exec(['nft', '-j', 'list', 'table', 'inet', 'lab_bcp38'])).stdout) as {
    nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
  };
  let n = 0;
  for (const e of j.nftables) {
    if (!e.rule || !JSON.stringify(e.rule).includes('"protocol":"ip6"')) continue;
    for (const x of e.rule.expr) n += x.counter?.packets ?? 0;
  }
  return n;
}

test('two-uplink topology v6: reachability, no default/RA in gw, blackhole keeps carrier and neighbour', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const { gw, inet, isp1 } = topo;
  assert.equal(topo.addr.SERVER6, SERVER6);

  assert.deepEqual(await gw.ipJson(['-6', 'route', 'show', 'default']), [], 'gw has no IPv6 default route');
  for (const k of ['all', 'default', 'wan1', 'wan2', 'lan0']) {
    assert.equal(await gw.sysctlGet(`net.ipv6.conf.${k}.accept_ra`), '0', `gw ${k} accept_ra`);
  }
  for (const ns of [gw, topo.isp1, topo.isp2]) {
    assert.equal(await ns.sysctlGet('net.ipv6.conf.all.forwarding'), '1', `${ns.role} forwards IPv6`);
  }
  assert.equal(await inet.sysctlGet('net.ipv6.conf.all.forwarding'), '0');

  // Test-only host routes (not defaults) so gw can answer inet's pings from its transit addresses.
  await gw.ip(['-6', 'route', 'add', '2001:db8:11::/64', 'via', ISP1_DOWN_6, 'dev', 'wan1']);
  await gw.ip(['-6', 'route', 'add', '2001:db8:12::/64', 'via', ISP2_DOWN_6, 'dev', 'wan2']);

  assert.ok(await ping6(inet, GW_WAN1_6), 'inet -> gw wan1 via isp1');
  assert.ok(await ping6(inet, GW_WAN2_6), 'inet -> gw wan2 via isp2');
  assert.ok(await ping6(isp1, SERVER6), 'isp1 reaches the server (default via inet)');
  assert.ok(await ping6(topo.isp2, SERVER6), 'isp2 reaches the server');
  assert.ok(await ping6(gw, INET_ISP1_6), 'gw -> inet transit via its host route');

  await topo.blackhole('isp1');
  assert.ok(!(await ping6(inet, GW_WAN1_6)), 'isp1 v6 path drops');
  assert.ok(!(await ping6(gw, ISP1_DOWN_6)), 'even the next hop is silent');
  assert.ok(!(await ping6(gw, INET_ISP1_6)), 'and nothing goes out through isp1');
  assert.ok(await ping6(inet, GW_WAN2_6), 'isp2 v6 path unaffected');
  assert.ok((await linkFlags(gw, 'wan1')).includes('LOWER_UP'), 'carrier still up on wan1');
  // Like ARP for IPv4: neighbour discovery still works, only IP traffic vanishes.
  await gw.ip(['-6', 'neigh', 'flush', 'dev', 'wan1']);
  await ping6(gw, ISP1_DOWN_6); // triggers resolution; the echo itself is dropped
  const neigh = await gw.ipJson<{ state?: string[] }[]>(['-6', 'neigh', 'show', ISP1_DOWN_6, 'dev', 'wan1']);
  assert.ok(
    neigh[0]?.state?.some((s) => ['REACHABLE', 'STALE', 'DELAY', 'PROBE'].includes(s)),
    `neighbour resolved: ${JSON.stringify(neigh)}`,
  );
  await topo.unblackhole('isp1');
  assert.ok(await ping6(inet, GW_WAN1_6, { wait: 2 }), 'isp1 v6 path back');

  // Admin-down flushes the ISP's IPv6 address on `down`; carrierUp restores it.
  await topo.carrierDown('isp1');
  await waitFor(async () => !(await linkFlags(gw, 'wan1')).includes('LOWER_UP'), {
    timeoutMs: 2000,
    what: 'wan1 carrier loss',
  });
  await topo.carrierUp('isp1');
  await waitFor(async () => (await linkFlags(gw, 'wan1')).includes('LOWER_UP'), {
    timeoutMs: 2000,
    what: 'wan1 carrier back',
  });
  await waitFor(() => ping6(inet, GW_WAN1_6), { timeoutMs: 5000, what: 'inet -> gw wan1 v6 after carrier cycle' });
});

test('two-uplink topology v6: lanReturnVia isp2 carries the LAN /64 back', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'isp2' });
  // Test-only stand-in for uplinkd: v6 default via isp2.
  await topo.gw.ip(['-6', 'route', 'add', 'default', 'via', ISP2_DOWN_6, 'dev', 'wan2']);
  assert.ok(await ping6(topo.lan, SERVER6, { wait: 2 }), 'lan -> server6 via isp2 and back');
  // The ISP's LAN route lives on `down`: admin-down flushes it, carrierUp restores it.
  await topo.carrierDown('isp2');
  await topo.carrierUp('isp2');
  await waitFor(() => ping6(topo.lan, SERVER6), { timeoutMs: 5000, what: 'lan -> server6 after carrier cycle' });
  assert.match((await topo.isp2.ip(['-6', 'route', 'show', LAN_NET6])).stdout, new RegExp(`via ${GW_WAN2_6} dev down`));
});

test('two-uplink topology v6: lanReturnVia both is multipath on inet', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const r = (await topo.inet.ip(['-6', 'route', 'show', LAN_NET6])).stdout;
  assert.match(r, /nexthop via 2001:db8:11::1 dev isp1/);
  assert.match(r, /nexthop via 2001:db8:12::1 dev isp2/);
  await topo.gw.ip(['-6', 'route', 'add', 'default', 'via', ISP1_DOWN_6, 'dev', 'wan1']);
  assert.ok(await ping6(topo.lan, SERVER6, { wait: 2 }), 'lan -> server6 via isp1, back by either');
  assert.ok(await ping6(topo.inet, LAN_HOST6, { wait: 2 }), 'inet -> lan host');
});

test('two-uplink topology v6: BCP 38 drops a foreign IPv6 source, passes ours', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'isp2' });
  const { gw, isp2 } = topo;
  await gw.ip(['-6', 'route', 'add', 'default', 'via', ISP2_DOWN_6, 'dev', 'wan2']);
  await gw.ip(['-6', 'addr', 'add', '2001:db8:99::1/128', 'dev', 'lo', 'nodad']);

  assert.ok(await ping6(gw, SERVER6, { wait: 2 }), 'gw (source wan2 address) reaches server6');
  assert.ok(await ping6(topo.lan, SERVER6, { wait: 2 }), 'the LAN /64 passes too');
  const before = await bcp38v6Drops(isp2);
  assert.ok(!(await ping6(gw, SERVER6, { from: '2001:db8:99::1' })), 'foreign source gets no reply');
  const after = await bcp38v6Drops(isp2);
  assert.ok(after > before, `isp2 lab_bcp38 v6 counter rose (${before} -> ${after})`);
  assert.equal(await bcp38v6Drops(topo.isp1), 0, 'isp1 saw nothing');
  // Sanity: that the source, not the path, is what is dropped.
  assert.ok(await ping6(gw, SERVER6, { wait: 2, from: GW_WAN2_6 }), 'own source still passes');
});
