/**
 * Jobs with real processes in the lab: a VPN-like client (a TCP client that stays connected to
 * a server in the "internet" namespace, with a child process in its group) runs exactly while
 * a default route exists. Pins: it starts when the first uplink comes up and not again when the
 * second does; after kill -9 of its main process the rest of its group is gone before the next
 * instance starts; restart_on default.uplink restarts it once on a failover, the new instance
 * seeing the new uplink in UPLINK; a job `when: job.vpn.running` follows it; a daemon killed
 * with -9 and started again adopts it (same pid); with no uplink left it is stopped, whole
 * process group; `uplink job stop` keeps it stopped until `job start`. A job whose child calls
 * setsid (leaves the process group) runs in its own cgroup where cgroup v2 is writable, and
 * that child is stopped with it — also after an adoption.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { alive, fileLines } from '../../src/lab/files.js';
import { cgroupsWritable } from '../../src/lab/cgroups.js';
import { startDaemon, type RunningDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

/** Keeps every connection open and says where it came from. */
const VPN_SERVER = `require('node:net').createServer((s) => { console.log('conn ' + s.remoteAddress); s.on('error', () => {}); }).listen(1194, '${SERVER}', () => console.log('listening'));`;
/** The VPN-like client: one connection, a child in its process group, a line per start. */
const VPN_CLIENT = (file: string) =>
  `const child = require('node:child_process').spawn('sleep', ['1000'], { stdio: 'ignore' });
require('node:fs').appendFileSync('${file}', ['start', process.env.UPLINK, process.pid, child.pid].join(' ') + '\\n');
const s = require('node:net').connect(1194, '${SERVER}');
s.on('error', () => process.exit(1)); s.on('close', () => process.exit(1));
setInterval(() => {}, 1000);`;

function starts(file: string): { uplink: string; pid: number; child: number }[] {
  return fileLines(file).map((l) => {
    const [, uplink, pid, child] = l.split(' ');
    return { uplink: uplink!, pid: Number(pid), child: Number(child) };
  });
}

const job = async (d: RunningDaemon, name: string) => (await d.status()).jobs.find((j) => j.name === name)!;

async function lab(t: Parameters<typeof labForTest>[0]) {
  const l = await labForTest(t);
  const topo = await twoUplinkTopology(l);
  await Promise.all([topo.carrierDown('isp1'), topo.carrierDown('isp2')]);
  const server = topo.inet.spawn(process.execPath, ['-e', VPN_SERVER]);
  await server.waitForLine(/listening/);
  const file = l.tempFile('vpn-starts', '');
  const script = l.tempFile('vpn.js', VPN_CLIENT(file));
  return { l, topo, file, script };
}

test('jobs: a VPN-like job follows the default route, restarts, reconnects on failover, is adopted, stops with the last uplink', async (t) => {
  const { l, topo, file, script } = await lab(t);
  const sideFile = l.tempFile('side-pids', '');
  const d = await startDaemon(
    l,
    topo.gw,
    twoUplinkConfig({
      extra: `jobs:
  vpn: { run: [${process.execPath}, ${script}], when: default.up, restart: always, restart_on: [default.uplink], stop_timeout: 2s }
  mail: { run: "sleep 1000", when: job.vpn.running }
  side: { run: "setsid sleep 1000 & echo $! >> ${sideFile}; exec sleep 1000", when: default.up }
`,
    }),
  );
  await sleep(1500);
  assert.equal((await job(d, 'vpn')).state, 'waiting');
  assert.match((await job(d, 'vpn')).why, /default\.up is false/);
  assert.equal(starts(file).length, 0, 'no default route: not started');

  await topo.carrierUp('isp1');
  await waitFor(async () => starts(file).length === 1, { timeoutMs: 10_000, what: 'vpn started' });
  assert.equal(starts(file)[0]!.uplink, 'wan1');
  const contained = cgroupsWritable();
  await waitFor(async () => fileLines(sideFile).length === 1, { what: 'side started' });
  const side = await job(d, 'side');
  if (contained) assert.match(side.cgroup ?? '', /\/uplinkd-jobs-[0-9a-f]+\/side\/[0-9a-z]+$/, 'in its own cgroup');
  else t.diagnostic('no writable cgroup v2 here: jobs are contained by process group only');
  assert.match(
    (await d.cli(['status'])).stdout,
    new RegExp(`side +running +pid ${side.pid} \\((cgroup|process group)\\)`),
  );
  await waitFor(async () => (await job(d, 'mail')).state === 'running', { what: 'mail follows vpn' });

  await topo.carrierUp('isp2');
  await waitFor(async () => (await d.status()).uplinks.find((u) => u.name === 'wan2')?.state === 'up', {
    timeoutMs: 10_000,
    what: 'wan2 up',
  });
  await sleep(1000);
  assert.equal(starts(file).length, 1, 'a second uplink coming up starts no second copy');

  // kill -9 of the main process: its child goes first, then a new instance.
  const first = starts(file)[0]!;
  process.kill(first.pid, 'SIGKILL');
  await waitFor(async () => starts(file).length === 2, { timeoutMs: 10_000, what: 'restarted' });
  assert.equal(alive(first.child), false, "the dead instance's child is gone");

  // A failover restarts it once, through the new uplink.
  await topo.blackhole('isp1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 8000, what: 'failover' });
  await waitFor(async () => starts(file).length === 3, { timeoutMs: 10_000, what: 'restart_on default.uplink' });
  assert.equal(starts(file)[2]!.uplink, 'wan2', 'the new instance sees the new uplink');
  await sleep(1500);
  assert.equal(starts(file).length, 3, 'restarted once');

  // The daemon dies hard and comes back: the job is adopted, not restarted.
  const running = (await job(d, 'vpn')).pid;
  d.proc.kill('SIGKILL');
  await d.proc.exited;
  const again = await startDaemon(l, topo.gw, '', { configFile: d.configFile });
  await waitFor(async () => (await job(again, 'vpn')).state === 'running', { what: 'adopted' });
  assert.equal((await job(again, 'vpn')).pid, running, 'same pid');
  await waitFor(async () => (await job(again, 'side')).pid === side.pid, { what: 'side adopted' });
  assert.equal((await job(again, 'side')).cgroup, side.cgroup, 'adopted with its cgroup');
  await sleep(1500);
  assert.equal(starts(file).length, 3, 'not restarted by the new daemon');

  // `uplink job stop` keeps it stopped; `job start` brings it back.
  assert.equal((await again.cli(['job', 'stop', 'vpn'])).code, 0);
  await waitFor(async () => (await job(again, 'vpn')).state === 'stopped', { what: 'stopped by the admin' });
  await waitFor(async () => (await job(again, 'mail')).state === 'waiting', { what: 'mail follows vpn down' });
  assert.equal((await again.cli(['job', 'start', 'vpn'])).code, 0);
  await waitFor(async () => starts(file).length === 4, { timeoutMs: 10_000, what: 'started by the admin' });

  // No uplink left: stopped, whole process group.
  const last = starts(file)[3]!;
  await Promise.all([topo.carrierDown('isp1'), topo.carrierDown('isp2')]);
  await waitFor(async () => (await job(again, 'vpn')).state === 'waiting', {
    timeoutMs: 10_000,
    what: 'stopped with the last uplink',
  });
  await waitFor(async () => !alive(last.pid) && !alive(last.child), { what: 'its whole group gone' });
  await waitFor(async () => (await job(again, 'side')).state === 'waiting', { what: 'side stopped' });
  const escaped = Number(fileLines(sideFile)[0]);
  if (contained) assert.equal(alive(escaped), false, 'the child that left the process group is gone with its cgroup');
  assert.equal((await again.cli(['quit'])).code, 0);
});
