/**
 * Two uplinks, real traffic (docs/architecture.md, "Testing"): the LAN's stream moves to the
 * backup when the primary dies silently or loses carrier, comes back only after
 * up_after good rounds and the failback delay, and does not flap while lossy.
 * ISPs filter foreign sources (BCP 38); rp_filter is Debian's loose default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon, monitor } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN2, ISP2_DOWN, LAN_HOST, SERVER } from '../../src/lab/topology.js';
import { countersIn, routeDev, twoUplinkConfig } from './uplinks-lab.js';

async function setup(t: Parameters<typeof labForTest>[0], failback = '2s') {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ failback }));
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  return { lab, topo, d };
}

test('blackholed primary (carrier up): the LAN stream resumes through the backup; backup probes leave through the backup', async (t) => {
  const { topo, d } = await setup(t);
  const inet = await countersIn(topo.inet, {
    via1: `iifname "isp1" ip saddr ${LAN_HOST} icmp type echo-request`,
    via2: `iifname "isp2" ip saddr ${LAN_HOST} icmp type echo-request`,
  });
  const isp2 = await countersIn(topo.isp2, {
    probes2: `iifname "down" ip saddr ${GW_WAN2} ip daddr ${SERVER} icmp type echo-request`,
  });
  const isp1 = await countersIn(topo.isp1, { probes2: `iifname "down" ip saddr ${GW_WAN2}` });
  // While wan1 carries the default, wan2's probes to the server must leave through wan2.
  await sleep(600);
  assert.ok((await isp2()).probes2 >= 2, 'backup probes seen at the backup ISP');
  assert.equal((await isp1()).probes2, 0, 'no backup probe leaks through the primary');

  const ping = topo.lan.spawn('ping', ['-n', '-i', '0.05', SERVER]);
  await waitFor(async () => (await inet()).via1 > 5, { what: 'LAN stream through isp1' });
  const t0 = Date.now();
  await topo.blackhole('isp1');
  assert.equal((await topo.gw.ip(['link', 'show', 'wan1'])).stdout.includes('LOWER_UP'), true, 'carrier stays up');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', {
    timeoutMs: 5000,
    what: 'default moved to wan2',
  });
  const moved = Date.now() - t0;
  const before = (await inet()).via2;
  await waitFor(async () => (await inet()).via2 > before + 5, { what: 'LAN stream arriving through isp2' });
  await waitFor(
    () =>
      ping
        .lines('stdout')
        .slice(-3)
        .some((l) => /bytes from/.test(l)),
    { what: 'ping replies again' },
  );
  const s = await d.status();
  assert.equal(s.uplinks[0].state, 'failed');
  assert.equal(s.selection.selected, 'wan2');
  t.diagnostic(`default moved ${moved} ms after the blackhole`);
});

test('primary carrier lost: the switch comes from the netlink event, not from probes', async (t) => {
  const { topo, d } = await setup(t);
  const mon = await monitor(d.socket);
  t.after(() => mon.close());
  const t0 = Date.now();
  await topo.carrierDown('isp1');
  // The kernel skips the linkdown route by itself (ignore_routes_with_linkdown) once linkwatch
  // has flagged it: well within one probe interval (200 ms), so no probe round is involved.
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', {
    timeoutMs: 150,
    intervalMs: 5,
    what: 'kernel switched to wan2',
  });
  t.diagnostic(`route moved within ${Date.now() - t0} ms`);
  await waitFor(() => mon.events.some((e) => e.type === 'selection' && e.selected === 'wan2'), {
    timeoutMs: 1000,
    what: 'selection event',
  });
  const ev = mon.events.find((e) => e.type === 'uplink' && e.name === 'wan1' && e.state === 'down');
  assert.ok(ev && ev.type === 'uplink' && ev.reason === 'no carrier', 'down for no carrier, not for failed probes');
  assert.equal((await d.status()).uplinks[0].probe?.failStreak ?? 0, 0);
});

test('recovery: failback after up_after good rounds and the failback delay; no flapping while lossy', async (t) => {
  const { topo, d } = await setup(t, '2s');
  const mon = await monitor(d.socket);
  t.after(() => mon.close());
  await topo.blackhole('isp1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 5000, what: 'failover' });
  // The primary comes back, but loses 30 % of what it carries: it must not win traffic back.
  await topo.unblackhole('isp1');
  await topo.isp1.nft(
    'table inet lab_loss {\n  chain pre { type filter hook prerouting priority -400; iifname "down" numgen random mod 100 < 30 drop; }\n}\n',
  );
  const switches = () => mon.events.filter((e) => e.type === 'selection').length;
  const base = switches();
  await sleep(8000);
  assert.equal(
    switches(),
    base,
    `no flapping: ${mon.events
      .filter((e) => e.type === 'selection')
      .map((e) => JSON.stringify(e))
      .join('\n')}`,
  );
  assert.equal(await routeDev(topo.gw, SERVER), 'wan2');
  // Clean again: back to wan1, but only after the window clears, up_after rounds and 2 s.
  const t0 = Date.now();
  await topo.isp1.nft('delete table inet lab_loss\n');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 15_000,
    what: 'failback to wan1',
  });
  const took = Date.now() - t0;
  const back = mon.events.filter((e) => e.type === 'selection' && e.selected === 'wan1').at(-1);
  // A real failback (not wan2 failing under a loaded machine): wan1 had been good for its delay.
  assert.match(
    back?.type === 'selection' ? back.reason : '',
    /wan1 is better than wan2 and has been good for [2-9]s/,
    JSON.stringify(back),
  );
  assert.ok(((await d.status()).uplinks[0].probe?.passStreak ?? 0) >= 5, 'up_after good rounds first');
  // Usually 6–7 s: the 30-round loss window (6 s) must clear first, and wan1 must have been good
  // for 2 s. Rarely a lossy window happens to look clean just before the loss ends; the reason
  // above still proves the delay was kept.
  t.diagnostic(`failback after ${took} ms`);
});

test('down, force, block from the CLI; foreign routes and rules survive everything', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  // Foreign objects the admin made before uplinkd ran.
  await topo.gw.ip(['route', 'add', 'default', 'via', ISP2_DOWN, 'metric', '500']);
  await topo.gw.ip(['route', 'add', '10.99.0.0/16', 'via', ISP2_DOWN, 'table', '100']);
  await topo.gw.ip(['rule', 'add', 'priority', '7350', 'from', '10.98.0.0/16', 'lookup', '100']);
  const foreign = async () => [
    (await topo.gw.ip(['route', 'show', 'table', 'main'])).stdout.includes(
      `default via ${ISP2_DOWN} dev wan2 metric 500`,
    ),
    (await topo.gw.ip(['route', 'show', 'table', '100'])).stdout.includes('10.99.0.0/16'),
    (await topo.gw.ip(['rule', 'show'])).stdout.includes('7350:\tfrom 10.98.0.0/16 lookup 100'),
  ];
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ failback: '0s' }));
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  const cli = async (...args: string[]) => {
    const r = await d.cli(args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.match(await cli('force', 'wan2'), /pinned to wan2/);
  assert.equal(await routeDev(topo.gw, SERVER), 'wan2');
  assert.equal((await d.status()).selection.forced, 'wan2');
  await cli('unforce');
  assert.equal(await routeDev(topo.gw, SERVER), 'wan1');
  await cli('block', 'wan1');
  assert.equal(await routeDev(topo.gw, SERVER), 'wan2');
  assert.equal((await d.status()).uplinks[0].state, 'blocked');
  await cli('unblock', 'wan1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', { what: 'back on wan1 after unblock' });
  await cli('down', 'wan1');
  assert.equal((await d.status()).uplinks[0].state, 'disabled');
  assert.equal(await routeDev(topo.gw, SERVER), 'wan2');
  await cli('up', 'wan1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', { what: 'back on wan1 after up' });
  const bad = await d.cli(['force', 'nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no uplink named "nope"/);
  assert.deepEqual(await foreign(), [true, true, true]);
  await cli('quit');
  assert.deepEqual(await foreign(), [true, true, true], 'foreign objects survive quit');
});

test('a static address from the config is put on the uplink when it is missing', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  await topo.gw.ip(['addr', 'del', '198.51.100.2/30', 'dev', 'wan1']);
  const d = await startDaemon(
    lab,
    topo.gw,
    twoUplinkConfig().replace('wan1: { interface: wan1,', 'wan1: { interface: wan1, address: 198.51.100.2/30,'),
  );
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'wan1 selected with its static address',
  });
  assert.match((await topo.gw.ip(['addr', 'show', 'dev', 'wan1'])).stdout, /inet 198\.51\.100\.2\/30/);
  assert.equal((await d.status()).uplinks[0].state, 'up');
});
