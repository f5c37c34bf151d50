// Real-namespace tests of the lab harness (need root, `ip`, `nft`, `ping`).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { ExecError, Lab, labForTest, listNetns, pidAlive, waitFor, withLab, type Ns } from '../../src/lab/harness.js';
import {
  GW_WAN1,
  GW_WAN2,
  INET_ISP1,
  INET_ISP2,
  ISP1_DOWN,
  SERVER,
  twoUplinkTopology,
} from '../../src/lab/topology.js';

const ping = (ns: Ns, addr: string, wait = 2) =>
  ns.exec(['ping', '-c1', '-q', `-W${wait}`, addr], { check: false }).then((r) => r.code === 0);

const linkFlags = async (ns: Ns, dev: string) =>
  (await ns.ipJson<{ flags: string[] }[]>(['link', 'show', 'dev', dev]))[0]!.flags;

test('namespaces carry the lab prefix, lo up, Debian rp_filter, optional forwarding', async (t) => {
  const lab = await labForTest(t);
  assert.match(lab.prefix, /^ul[0-9a-f]{6}$/);
  const r = await lab.ns('r', { forwarding: true });
  const h = await lab.ns('h');
  assert.deepEqual(lab.namespaces, [`${lab.prefix}-r`, `${lab.prefix}-h`]);
  const all = await listNetns();
  for (const n of lab.namespaces) assert.ok(all.includes(n), `${n} in ip netns list`);
  assert.ok((await linkFlags(h, 'lo')).includes('UP'));
  assert.equal(await h.sysctlGet('net.ipv4.conf.all.rp_filter'), '2');
  assert.equal(await h.sysctlGet('net.ipv4.conf.default.rp_filter'), '2');
  assert.equal(await r.sysctlGet('net.ipv4.ip_forward'), '1');
  assert.equal(await h.sysctlGet('net.ipv4.ip_forward'), '0');
  // Interfaces created later inherit the loose default too.
  await lab.veth(r, 'a0', h, 'b0');
  assert.equal(await h.sysctlGet('net.ipv4.conf.b0.rp_filter'), '2');
});

test('veth pair between namespaces carries traffic', async (t) => {
  const lab = await labForTest(t);
  const a = await lab.ns('a');
  const b = await lab.ns('b');
  await lab.veth(a, 'va', b, 'vb', { aAddr: '192.0.2.1/30', bAddr: '192.0.2.2/30' });
  assert.ok(await ping(a, '192.0.2.2'), 'a pings b');
  assert.ok(await ping(b, '192.0.2.1'), 'b pings a');
});

test('exec/sh/nft/sysctl helpers', async (t) => {
  const lab = await labForTest(t);
  const n = await lab.ns('x');
  assert.equal((await n.sh('echo hi; echo err >&2')).stdout, 'hi\n');
  await assert.rejects(n.exec(['false']), ExecError);
  assert.equal((await n.exec(['sh', '-c', 'exit 3'], { check: false })).code, 3);
  await n.nft('table inet t {\n  chain c { type filter hook input priority 0; }\n}\n');
  assert.match((await n.exec(['nft', 'list', 'tables'])).stdout, /table inet t/);
  await n.sysctl('net.ipv4.ping_group_range', '0 2147483647');
  assert.equal(await n.sysctlGet('net.ipv4.ping_group_range'), '0\t2147483647');
});

test('teardown removes every namespace even when the body throws; idempotent', async () => {
  let lab: Lab | undefined;
  await assert.rejects(
    withLab(async (l) => {
      lab = l;
      await l.ns('one');
      await l.ns('two');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(lab!.namespaces.length, 2);
  const all = await listNetns();
  for (const n of lab!.namespaces) assert.ok(!all.includes(n), `${n} removed`);
  await lab!.teardown(); // second call: no error
  await assert.rejects(lab!.ns('late'), /torn down/);
});

test('spawned processes: waitForLine, and teardown kills them and their groups', async () => {
  const lab = await Lab.create();
  const n = await lab.ns('p');
  const sleeper = n.spawn('sleep', ['100']);
  // A grandchild in the same (detached) group must die too.
  const shell = n.spawn('sh', ['-c', 'sleep 100 & echo "child $!"; wait']);
  const grandchild = Number((await shell.waitForLine(/^child (\d+)$/))[1]);
  // A process that ignores SIGTERM gets SIGKILL after the grace period.
  const stubborn = n.spawn('sh', ['-c', 'trap "" TERM; echo armed; while :; do sleep 1; done']);
  await stubborn.waitForLine(/armed/, { stream: 'stdout' });
  await assert.rejects(sleeper.waitForLine(/never/, { timeoutMs: 100 }), /no line matching/);
  for (const pid of [sleeper.pid, shell.pid, grandchild, stubborn.pid]) assert.ok(pidAlive(pid));

  const t0 = Date.now();
  await lab.teardown();
  for (const pid of [sleeper.pid, shell.pid, grandchild, stubborn.pid]) assert.ok(!pidAlive(pid), `pid ${pid} gone`);
  assert.ok(Date.now() - t0 < 5000);
  assert.ok(!(await listNetns()).includes(n.name));
});

test('waitForLine rejects when the process exits first; waitFor reports the last value', async (t) => {
  const lab = await labForTest(t);
  const n = await lab.ns('w');
  const p = n.spawn('sh', ['-c', 'echo bye; exit 4']);
  await assert.rejects(p.waitForLine(/never/), /exited before printing[\s\S]*bye/);
  assert.deepEqual(await p.exited, { code: 4, signal: null });
  let i = 0;
  await assert.rejects(
    waitFor(() => (i++, false), { timeoutMs: 100, intervalMs: 10, what: 'pigs to fly' }),
    /pigs to fly.*last value: false/,
  );
  assert.equal(await waitFor(() => ++i > 3 && 'ok', { timeoutMs: 1000, intervalMs: 1 }), 'ok');
});

// A separate Node process makes a lab and then dies without calling teardown.
for (const how of ['SIGINT', 'SIGTERM', 'exit'] as const) {
  test(`lab is cleaned up when its process gets ${how}`, async () => {
    const harness = new URL('../../src/lab/harness.js', import.meta.url).href;
    const script = `
      import { Lab } from ${JSON.stringify(harness)};
      const lab = await Lab.create();
      const n = await lab.ns('z');
      const p = n.spawn('sleep', ['100']);
      console.log(JSON.stringify({ names: lab.namespaces, pid: p.pid }));
      ${how === 'exit' ? 'process.exit(3);' : 'setInterval(() => {}, 1000);'}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit'); // before any await: the 'exit' variant may be quick
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const info = await waitFor(() => out.includes('\n') && (JSON.parse(out) as { names: string[]; pid: number }), {
      timeoutMs: 10_000,
      what: 'child lab to start',
    });
    if (how !== 'exit') child.kill(how);
    const [code, signal] = await exited;
    if (how === 'exit') assert.equal(code, 3);
    else assert.equal(signal, how, 'signal re-raised after cleanup');
    const all = await listNetns();
    for (const n of info.names) assert.ok(!all.includes(n), `${n} removed`);
    await waitFor(() => !pidAlive(info.pid), { timeoutMs: 2000, what: `pid ${info.pid} to go` });
  });
}

test('two-uplink topology: reachability, blackhole keeps carrier, carrierDown drops it', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const { gw, inet } = topo;
  // Not default routes (those are uplinkd's): host routes so gw can answer inet's pings,
  // which come from inet's per-ISP transit address, back the way they came.
  await gw.ip(['route', 'add', `${INET_ISP1}/32`, 'via', ISP1_DOWN, 'dev', 'wan1']);
  await gw.ip(['route', 'add', `${INET_ISP2}/32`, 'via', topo.addr.ISP2_DOWN, 'dev', 'wan2']);
  assert.deepEqual(await gw.ipJson(['route', 'show', 'default']), [], 'gw has no default route');

  assert.ok(await ping(inet, GW_WAN1), 'inet -> gw wan1 via isp1');
  assert.ok(await ping(inet, GW_WAN2), 'inet -> gw wan2 via isp2');
  assert.ok(await ping(topo.isp1, SERVER), 'isp1 reaches the server');

  await topo.blackhole('isp1');
  await topo.blackhole('isp1'); // idempotent
  assert.ok(!(await ping(inet, GW_WAN1, 1)), 'isp1 path drops');
  assert.ok(!(await ping(gw, ISP1_DOWN, 1)), 'even the next hop is silent');
  assert.ok(await ping(inet, GW_WAN2), 'isp2 path unaffected');
  assert.ok((await linkFlags(gw, 'wan1')).includes('LOWER_UP'), 'carrier still up on wan1');
  await topo.unblackhole('isp1');
  await topo.unblackhole('isp1'); // idempotent
  assert.ok(await ping(inet, GW_WAN1), 'isp1 path back');

  await topo.carrierDown('isp1');
  await waitFor(async () => !(await linkFlags(gw, 'wan1')).includes('LOWER_UP'), {
    timeoutMs: 2000,
    what: 'wan1 carrier loss',
  });
  assert.ok((await linkFlags(gw, 'wan2')).includes('LOWER_UP'));
  await topo.carrierUp('isp1');
  await waitFor(async () => (await linkFlags(gw, 'wan1')).includes('LOWER_UP'), {
    timeoutMs: 2000,
    what: 'wan1 carrier back',
  });
  assert.ok(await ping(inet, GW_WAN1), 'isp1 path back after carrier');
});

test('two-uplink topology: lanReturnVia routes the un-NATed LAN back through that ISP', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'isp2' });
  // Test-only stand-in for uplinkd: default via isp2, no NAT.
  await topo.gw.ip(['route', 'add', 'default', 'via', topo.addr.ISP2_DOWN, 'dev', 'wan2']);
  assert.ok(await ping(topo.lan, SERVER), 'lan -> server via isp2 and back');
  // Survives a carrier cycle (admin-down flushed the ISP's LAN route; carrierUp restores it).
  await topo.carrierDown('isp2');
  await topo.carrierUp('isp2');
  await waitFor(() => ping(topo.lan, SERVER, 1), { timeoutMs: 5000, what: 'lan -> server after carrier cycle' });
});
