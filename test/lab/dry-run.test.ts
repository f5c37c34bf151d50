/**
 * `uplinkd --dry-run` changes nothing: a connect command is not run, no state file is
 * written, no route, rule, sysctl or nft ruleset appears, ping_group_range stays narrow;
 * the log says once what it would have done, and the control socket answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';

test('--dry-run runs nothing and changes nothing, and logs each would-be change once', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const isp = await lab.ns('isp');
  await lab.veth(gw, 'wan1', isp, 'down', { aAddr: '198.51.100.2/30', bAddr: '198.51.100.1/30' });
  await lab.veth(gw, 'lan0', await lab.ns('lan'), 'eth0', { aAddr: '10.66.0.1/24' });
  const marker = lab.tempFile('dialed', '');
  const { rmSync } = await import('node:fs');
  rmSync(marker);
  const before = {
    forward: await gw.sysctlGet('net.ipv4.ip_forward'),
    ping: await gw.sysctlGet('net.ipv4.ping_group_range'),
    linkdown: await gw.sysctlGet('net.ipv4.conf.wan1.ignore_routes_with_linkdown'),
  };
  const config = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, probe: { profile: fast } }
  dsl: { interface: ppp0, mode: always, priority: 20, connect: "touch ${marker}; sleep 30" }
lan:
  - { interface: lan0, zone: lan }
`;
  const d = await startDaemon(lab, gw, config, { args: ['--dry-run'] });
  await waitFor(async () => (await d.status()).uplinks.find((u) => u.name === 'wan1')?.state === 'up', {
    timeoutMs: 10_000,
    what: 'wan1 judged up by real probes',
  });
  await sleep(1500); // many probe rounds, many reconcile passes
  const log = d.proc.lines('stderr').map((l) => JSON.parse(l) as { msg: string; command?: string });
  const would = log.filter((l) => l.msg === 'dry-run: would run').map((l) => l.command!);
  assert.ok(
    would.some((c) => c.includes(`touch ${marker}`)),
    'the connect command is listed',
  );
  assert.ok(
    would.some((c) => /^ip -4 route add 0\.0\.0\.0\/0 via 198\.51\.100\.1 dev wan1 table \d+ /.test(c)),
    'the selection route is listed',
  );
  assert.ok(
    would.some((c) => c === 'sysctl -w net.ipv4.ip_forward=1'),
    'the sysctl is listed',
  );
  assert.equal(new Set(would).size, would.length, `each would-be change is logged once:\n${would.join('\n')}`);
  assert.ok(log.some((l) => l.msg.startsWith('dry-run: would apply this nftables batch')));
  assert.ok(!log.some((l) => /reconcile: applied/.test(l.msg)), 'nothing claims to have been applied');

  assert.ok(!existsSync(marker), 'the connect command did not run');
  assert.ok(!existsSync(join(dirname(d.configFile), 'state', 'state.json')), 'no state file');
  assert.equal((await gw.ip(['route', 'show', 'table', 'all', 'proto', '201'])).stdout.trim(), '', 'no route of ours');
  assert.doesNotMatch((await gw.ip(['rule', 'show'])).stdout, /protocol 201|proto 201/, 'no rule of ours');
  assert.equal((await gw.exec(['nft', 'list', 'ruleset'])).stdout.trim(), '', 'no ruleset');
  assert.deepEqual(
    {
      forward: await gw.sysctlGet('net.ipv4.ip_forward'),
      ping: await gw.sysctlGet('net.ipv4.ping_group_range'),
      linkdown: await gw.sysctlGet('net.ipv4.conf.wan1.ignore_routes_with_linkdown'),
    },
    before,
    'no sysctl changed (probes use a raw socket instead of widening ping_group_range)',
  );
  assert.equal((await d.status()).daemon.system, 'dry-run');

  await d.proc.stop();
  assert.ok(!existsSync(marker), 'still not run after SIGTERM');
  assert.ok(!existsSync(join(dirname(d.configFile), 'state', 'state.json')), 'still no state file');
});
