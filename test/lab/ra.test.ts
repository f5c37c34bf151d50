/**
 * IPv6 from router advertisements, with the real radvd in both ISPs and the kernel's SLAAC on
 * the gateway: each uplink learns its own default router (a link-local address), probes it
 * with the interface scope, copies it into its table and the selection, and follows its
 * removal. isp2's radvd only answers solicitations (UnicastOnly), and the gateway's kernel
 * sent none (accept_ra was 0 when its links came up): wan2 learns its router only from the
 * solicitation uplinkd sends when no advertisement came within 10 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor, type Ns } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import {
  twoUplinkTopology,
  ISP1_DOWN,
  ISP2_DOWN,
  ISP2_UP_6,
  LAN_HOST6,
  LAN_NET6,
  SERVER6,
  WAN1_NET6,
  WAN2_NET6,
} from '../../src/lab/topology.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, probe: { profile: fast }, failback_delay: 1s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, probe: { profile: fast }, failback_delay: 1s }
lan:
  - { interface: lan0, zone: lan }
`;

async function linkLocal(ns: Ns, dev: string): Promise<string> {
  const a = await ns.ipJson<{ addr_info: { local: string; scope: string }[] }[]>(['-6', 'addr', 'show', 'dev', dev]);
  const ll = a[0]?.addr_info.find((i) => i.scope === 'link')?.local;
  if (!ll) throw new Error(`no link-local address on ${dev} in ${ns.role}`);
  return ll;
}

function radvdConf(prefix: string, unicastOnly: boolean): string {
  return `interface down {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  ${unicastOnly ? 'UnicastOnly on;' : ''}
  prefix ${prefix} { AdvOnLink on; AdvAutonomous on; };
};
`;
}

test('router advertisements: both uplinks learn, probe and route their own IPv6 router; LAN IPv6 fails over', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const { gw, isp1, isp2 } = topo;
  // SLAAC instead of static WAN addresses; the ISPs route the LAN prefix to the gateway's link-local.
  await gw.ip(['-6', 'addr', 'flush', 'dev', 'wan1', 'scope', 'global']);
  await gw.ip(['-6', 'addr', 'flush', 'dev', 'wan2', 'scope', 'global']);
  for (const [isp, dev] of [
    [isp1, 'wan1'],
    [isp2, 'wan2'],
  ] as const)
    await isp.ip(['-6', 'route', 'replace', LAN_NET6, 'via', await linkLocal(gw, dev), 'dev', 'down']);
  const router1 = await linkLocal(isp1, 'down');
  const router2 = await linkLocal(isp2, 'down');
  const radvd = (isp: Ns, conf: string) =>
    isp.spawn('radvd', ['-n', '-m', 'stderr', '-C', lab.tempFile('radvd', conf), '-p', lab.tempFile('radvd-pid', '')]);
  const r1 = radvd(isp1, radvdConf(WAN1_NET6, false));
  radvd(isp2, radvdConf(WAN2_NET6, true));

  const t0 = Date.now();
  const d = await startDaemon(lab, gw, CONFIG);
  const uplink = async (name: string) => (await d.status()).uplinks.find((u) => u.name === name)!;
  await waitFor(async () => (await uplink('wan1')).gateways?.ipv6 === router1, {
    timeoutMs: 15_000,
    what: 'wan1 learns its router from an unsolicited advertisement',
  });
  assert.equal(await gw.sysctlGet('net.ipv6.conf.wan1.accept_ra'), '2');
  await waitFor(async () => (await uplink('wan2')).gateways?.ipv6 === router2, {
    timeoutMs: 30_000,
    what: 'wan2 learns its router once uplinkd solicits one',
  });
  t.diagnostic(`wan2 learned its router by solicitation ${Date.now() - t0} ms after the daemon started`);
  await waitFor(
    async () => {
      const [a, b] = [await uplink('wan1'), await uplink('wan2')];
      return a.families.ipv6 && b.families.ipv6 && a.state === 'up' && b.state === 'up';
    },
    { timeoutMs: 10_000, what: 'both link-local routers probed (scope: the interface) and passing' },
  );
  const table = async (n: number) => (await gw.ip(['-6', 'route', 'show', 'table', String(n)])).stdout;
  assert.match(await table(7301), new RegExp(`default via ${router1} dev wan1 proto 201 metric 10`));
  assert.match(await table(7302), new RegExp(`default via ${router2} dev wan2 proto 201 metric 10`));
  assert.match(await table(7300), new RegExp(`default via ${router1} dev wan1 proto 201 metric 100`));
  assert.match(await table(7300), new RegExp(`default via ${router2} dev wan2 proto 201 metric 101`));
  // The router-advertised defaults stay where the kernel put them: foreign, in main.
  const main = (await gw.ip(['-6', 'route', 'show', 'default'])).stdout;
  assert.match(main, /proto ra/);

  const lanVia = async () => {
    const r = await gw.ip(['-6', 'route', 'get', SERVER6, 'from', LAN_HOST6, 'iif', 'lan0'], { check: false });
    return /\bdev (\S+)/.exec(r.stdout)?.[1];
  };
  const lanPing = async () => (await topo.lan.exec(['ping', '-6', '-c1', '-W1', SERVER6], { check: false })).code === 0;
  assert.equal(await lanVia(), 'wan1');
  assert.ok(await lanPing(), 'LAN IPv6 reaches the server through wan1');

  // A silent death of isp1: IPv6 (and IPv4) fail over; LAN IPv6 follows uplinkd, not the RA routes.
  await topo.blackhole('isp1');
  // The way back to the LAN prefix (both ISPs route it) then is isp2 alone, as upstream routing would have it.
  await topo.inet.ip(['-6', 'route', 'replace', LAN_NET6, 'via', ISP2_UP_6, 'dev', 'isp2']);
  await waitFor(async () => (await lanVia()) === 'wan2', { timeoutMs: 5000, what: 'LAN IPv6 on wan2' });
  await waitFor(lanPing, { timeoutMs: 5000, what: 'LAN IPv6 works through wan2' });
  await topo.unblackhole('isp1');
  await waitFor(async () => (await lanVia()) === 'wan1', { timeoutMs: 15_000, what: 'LAN IPv6 back on wan1' });

  // radvd stopping announces router lifetime 0: the kernel drops its default, and our copies follow.
  process.kill(r1.pid, 'SIGTERM');
  await r1.exited;
  await waitFor(async () => !(await table(7301)).includes('default via'), {
    timeoutMs: 10_000,
    what: "wan1's IPv6 default gone from its table",
  });
  await waitFor(async () => !(await table(7300)).includes('dev wan1'), {
    timeoutMs: 5000,
    what: 'and from the selection',
  });
  assert.equal(await lanVia(), 'wan2');
});
