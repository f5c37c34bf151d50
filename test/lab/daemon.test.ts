/**
 * The core daemon in a namespace: kernel changes show up in status and in the
 * event stream; single instance; restart after kill -9; quit leaves kernel state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { labForTest, pidAlive, waitFor } from '../../src/lab/harness.js';
import { monitor, startDaemon, uplinkCli, UPLINKD } from '../../src/lab/daemon.js';
import { rpc } from '../../src/control/client.js';

const UPLINKS = `uplinks:
  wan1: { interface: wan1, priority: 10 }
  wan2: { interface: wan2, mode: backup, priority: 20 }
`;

test('kernel changes appear in status --json and in monitor', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const isp = await lab.ns('isp');
  const d = await startDaemon(lab, gw, UPLINKS);
  const mon = await monitor(d.socket);
  t.after(() => mon.close());

  const s0 = await d.status();
  assert.deepEqual(
    s0.uplinks.map((u) => [u.name, u.link.present]),
    [
      ['wan1', false],
      ['wan2', false],
    ],
  );

  await lab.veth(gw, 'wan1', isp, 'down');
  await waitFor(async () => (await d.status()).uplinks[0].link.carrier, { what: 'wan1 with carrier in status' });
  await gw.ip(['addr', 'add', '198.51.100.2/30', 'dev', 'wan1']);
  await gw.ip(['route', 'add', 'default', 'via', '198.51.100.1', 'metric', '50']);
  const cli = await waitFor(
    async () => {
      const r = await d.cli(['status', '--json']);
      const s = JSON.parse(r.stdout);
      return s.defaultRoutes.some((x: { via?: string }) => x.via === '198.51.100.1') && s;
    },
    { what: 'default route in `uplink status --json`' },
  );
  assert.deepEqual(cli.uplinks[0].addresses, ['198.51.100.2/30']);
  assert.ok(cli.links.some((l: { name: string }) => l.name === 'wan1'));
  await waitFor(
    () =>
      mon.events.some(
        (e) =>
          e.type === 'kernel' &&
          /routes added: .*default via 198\.51\.100\.1 dev wan1 table 254 metric 50/.test(e.summary),
      ),
    { what: 'default route event in monitor' },
  );
  assert.ok(mon.events.some((e) => e.type === 'kernel' && e.summary.includes('links added: wan1')));
  assert.ok(
    mon.events.some((e) => e.type === 'kernel' && e.summary.includes('addresses added: 198.51.100.2/30 dev wan1')),
  );

  // Carrier loss: the peer goes away, the route stays flagged linkdown.
  await isp.ip(['link', 'set', 'dev', 'down', 'down']);
  await waitFor(async () => !(await d.status()).uplinks[0].link.carrier, { what: 'carrier loss seen' });
  await isp.ip(['link', 'set', 'dev', 'down', 'up']);
  // Admin down flushes IPv4 routes without RTM_DELROUTE: the daemon must re-read.
  await gw.ip(['link', 'set', 'dev', 'wan1', 'down']);
  await waitFor(async () => (await d.status()).defaultRoutes.every((r) => r.via !== '198.51.100.1'), {
    what: 'silently flushed default route gone from status',
  });

  await gw.ip(['link', 'del', 'wan1']);
  await waitFor(async () => !(await d.status()).uplinks[0].link.present, { what: 'wan1 gone from status' });
  await waitFor(() => mon.events.some((e) => e.type === 'kernel' && e.summary.includes('links removed: wan1')), {
    what: 'link removal event',
  });

  // The human status names every configured uplink.
  const human = await d.cli(['status']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /wan1 .* interface absent/);
  assert.match(human.stdout, /FOREIGN ROUTES/);
});

test('single instance, restart after kill -9, quit leaves kernel state and frees the socket', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, UPLINKS);
  const ours = async () => (await gw.ip(['-4', 'route', 'show', 'table', '7301'], { check: false })).stdout;
  await waitFor(async () => /unreachable default proto 201 metric 4294967295/.test(await ours()), {
    what: 'our unreachable default in table 7301',
  });

  const second = gw.spawn(process.execPath, [UPLINKD, '--config', d.configFile]);
  const exit = await second.exited;
  assert.equal(exit.code, 1);
  assert.match(second.lines('stderr').join('\n'), /another uplinkd \(pid \d+\) holds/);

  d.proc.kill('SIGKILL');
  await d.proc.exited;
  const again = await startDaemon(lab, gw, '', { configFile: d.configFile });
  assert.equal((await again.status()).uplinks.length, 2);
  assert.equal((await ours()).trim().split('\n').length, 1, 'adopted, not duplicated');

  const q = await uplinkCli(['--socket', again.socket, 'quit']);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /stopped/);
  assert.equal(existsSync(again.socket), false, 'socket removed before quit returned');
  await again.proc.exited;
  assert.equal(pidAlive(again.proc.pid), false);
  assert.match(await ours(), /unreachable default/, 'quit leaves our routes in place');
  const down = await uplinkCli(['--socket', again.socket, 'status']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /uplinkd is not running/);
});

test('reload: a bad config is rejected and the running one kept; a good one applies', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, UPLINKS);
  const good = readFileSync(d.configFile, 'utf8');
  writeFileSync(d.configFile, good.replace('priority: 10', 'priority: "ten"'));
  const bad = await d.cli(['reload']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /uplinks\.wan1\.priority/);
  assert.equal((await d.status()).uplinks[0].priority, 10);
  writeFileSync(d.configFile, good.replace(/ {2}wan2: .*\n/, ''));
  const ok = await d.cli(['reload']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(
    (await d.status()).uplinks.map((u) => u.name),
    ['wan1'],
  );
  // wan2's table is ours and no longer wanted: removed once the first round is judged, never before.
  await waitFor(
    async () => (await gw.ip(['-4', 'route', 'show', 'table', '7302'], { check: false })).stdout.trim() === '',
    { timeoutMs: 15000, what: 'table 7302 emptied' },
  );
  assert.match((await gw.ip(['-4', 'route', 'show', 'table', '7301'])).stdout, /unreachable default/);
});

test('--dry-run watches the kernel but only logs the ip commands', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, UPLINKS, { args: ['--dry-run'] });
  await d.proc.waitForLine(
    /"command":"ip -4 route add unreachable 0\.0\.0\.0\/0 table 7301 proto 201.*dry-run: would run/,
    { stream: 'stderr' },
  );
  assert.equal((await d.status()).daemon.system, 'dry-run');
  const tables = (await gw.ip(['-4', 'route', 'show', 'table', 'all'], { check: false })).stdout;
  assert.doesNotMatch(tables, /proto 201/, 'nothing of ours was written');
});

test('reload: control.kernel and netlink_buffer changes are refused with a coded error; our routes stay ours', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, `control:\n  kernel: { table_base: 7300 }\n${UPLINKS}`, { controlYaml: true });
  await waitFor(
    async () => /unreachable default/.test((await gw.ip(['-4', 'route', 'show', 'table', '7301'])).stdout),
    {
      what: 'our table 7301',
    },
  );
  const good = readFileSync(d.configFile, 'utf8');
  for (const [from, to] of [
    ['table_base: 7300', 'table_base: 7400'],
    ['kernel: { table_base: 7300 }', 'kernel: { table_base: 7300 }\n  netlink_buffer: 65536'],
  ]) {
    writeFileSync(d.configFile, good.replace(from!, to!));
    const err = await rpc(d.socket, 'reload').then(
      () => assert.fail(`reload accepted ${to}`),
      (e: Error & { code?: string; hint?: string }) => e,
    );
    assert.equal(err.code, 'CONFIG_RESTART_ONLY', err.message);
    assert.match(`${err.message} ${err.hint}`, /cannot change on reload.*(--teardown|restart)/);
  }
  // Nothing changed: the tables are still ours (cleaned up on teardown), none under 7400.
  writeFileSync(d.configFile, good);
  assert.equal((await d.cli(['quit', '--teardown'])).code, 0);
  await d.proc.exited;
  assert.equal((await gw.ip(['-4', 'route', 'show', 'table', '7301'], { check: false })).stdout.trim(), '');
});
