/**
 * Confirmed apply with real traffic: an admin on the Internet side reaches a TCP service on
 * the gateway (standing in for SSH) through wan1's firewall opening. A config that closes it
 * cuts the admin off: without a confirm the admin is back within T + 1 s on the old config;
 * with one it stays and is on disk; `--wait` killed mid-countdown rolls back; a daemon killed
 * with -9 and started again mid-countdown still rolls back at the deadline; 100 apply/rollback
 * cycles leave no stray routes, rules, ruleset, jobs or files.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor, type Ns } from '../../src/lab/harness.js';
import { labConfig, startDaemon, type RunningDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2, SERVER } from '../../src/lab/topology.js';
import { rpc } from '../../src/control/client.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

const UPLINK = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const PORT = 2222;
const OPEN = twoUplinkConfig({ extra: `firewall:\n  input: [{ proto: tcp, port: ${PORT} }]\n` });
const CUT = twoUplinkConfig({
  extra: 'firewall: { enabled: true, input: [] }\njobs:\n  extra: { run: "sleep 1001" }\n',
});
const T = 3;

/** One connection attempt from the admin's side; true when the service answered. */
async function reaches(admin: Ns): Promise<boolean> {
  const js = `const s = require('node:net').connect(${PORT}, '${GW_WAN1}'); s.setTimeout(400, () => process.exit(2)); s.on('data', () => process.exit(0)); s.on('error', () => process.exit(3));`;
  return (await admin.exec([process.execPath, '-e', js], { check: false })).code === 0;
}

/** What a cycle must leave as it found it: our rules and routes, the ruleset, the state dir. */
async function footprint(gw: Ns, d: RunningDaemon) {
  const rules = (await gw.ip(['rule', 'show'])).stdout;
  const routes = (await gw.ip(['route', 'show', 'table', 'all'])).stdout
    .split('\n')
    .filter((l) => !/ (linkdown|expires)/.test(l))
    .join('\n');
  const nft = (await gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'])).stdout.replace(/ # handle \d+/g, '');
  const state = readdirSync(join(dirname(d.configFile), 'state')).sort();
  // Counters move with the probes' traffic; the generation marker with every rebuild.
  const table = nft
    .replace(/(set generation \{[^}]*elements = \{ )\w+/, '$1N')
    .replace(/counter packets \d+ bytes \d+/g, 'counter');
  return { rules, routes, nft: table, state };
}

test('confirmed apply: a cut-off admin gets back in by itself; confirm keeps; --wait and a daemon crash still roll back', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const sshd = topo.gw.spawn(process.execPath, [
    '-e',
    `require('node:net').createServer((s) => s.end('SSH-2.0-lab\\n')).listen(${PORT}, () => console.log('listening'));`,
  ]);
  await sshd.waitForLine(/listening/);
  const admin = topo.inet;
  let d = await startDaemon(lab, topo.gw, OPEN);
  // The same control section (socket, state dir: apply cannot move them), the service closed.
  const cut = labConfig(dirname(d.configFile), CUT);
  const file = lab.tempFile('cut.yaml', cut);
  const original = readFileSync(d.configFile, 'utf8');
  await waitFor(() => reaches(admin), { timeoutMs: 15_000, what: 'the admin reaches the gateway' });

  // Without a confirm: cut off, then back by itself within T + 1 s, on the old config.
  let r = await d.cli(['apply', file, '--confirm', String(T)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rolls back at/);
  // The countdown starts when the daemon takes the apply (the CLI's own start-up is not in it).
  let t0 = Date.parse((await d.status()).apply!.appliedAt);
  assert.match((await d.cli(['status'])).stdout, /^PENDING APPLY of .*cut\.yaml/);
  await waitFor(async () => !(await reaches(admin)), { timeoutMs: 3000, what: 'the admin is cut off' });
  await waitFor(() => reaches(admin), { timeoutMs: (T + 2) * 1000, intervalMs: 50, what: 'back in' });
  const back = Date.now() - t0;
  assert.ok(back <= (T + 1) * 1000, `back in after ${back} ms (T = ${T} s)`);
  assert.equal((await d.status()).apply, undefined);
  assert.equal(readFileSync(d.configFile, 'utf8'), original, 'the file never changed');
  assert.equal((await d.status()).jobs.length, 0, "the cut config's job is gone");

  // `--wait`, killed mid-countdown: rolled back at once.
  const waiting = spawn(process.execPath, [UPLINK, '--socket', d.socket, 'apply', file, '--confirm', '60', '--wait'], {
    stdio: 'ignore',
  });
  t.after(() => waiting.kill('SIGKILL'));
  await waitFor(async () => (await d.status()).apply !== undefined, { what: 'pending (--wait)' });
  t0 = Date.now();
  waiting.kill('SIGKILL');
  await waitFor(async () => (await d.status()).apply === undefined, { timeoutMs: 3000, what: 'rolled back' });
  await waitFor(() => reaches(admin), { timeoutMs: 3000, what: 'back in after --wait died' });
  assert.ok(Date.now() - t0 < 3000);

  // A daemon killed with -9 mid-countdown and started again: the countdown goes on and ends in a rollback.
  assert.equal((await d.cli(['apply', file, '--confirm', String(T + 1)])).code, 0);
  t0 = Date.parse((await d.status()).apply!.appliedAt);
  d.proc.kill('SIGKILL');
  await d.proc.exited;
  d = await startDaemon(lab, topo.gw, '', { configFile: d.configFile });
  assert.ok((await d.status()).apply, 'still pending in the new daemon');
  await waitFor(() => reaches(admin), { timeoutMs: (T + 6) * 1000, intervalMs: 50, what: 'back in after the crash' });
  // The new daemon kept the old deadline (T + 1 s after the apply), not a new countdown. The
  // event comes once the rollback is applied: a freshly started daemon judges its uplinks first.
  // The admin may be back (the ruleset is in) a moment before the rollback has settled and says so.
  const rollback = await waitFor(
    async () =>
      ((await rpc(d.socket, 'events', { type: 'apply' })) as { action: string; time: string }[]).find(
        (e) => e.action === 'rollback',
      ),
    { timeoutMs: 10_000, what: 'the rollback event' },
  );
  const rolledAt = Date.parse(rollback.time) - t0;
  assert.ok(rolledAt >= (T + 1) * 1000, `not before the deadline (${rolledAt} ms)`);
  assert.ok(rolledAt <= (T + 4) * 1000, `rolled back ${rolledAt} ms after the apply`);

  // With a confirm: the cut stays, and the file holds the bytes that were sent (the old kept as .bak).
  assert.equal((await d.cli(['apply', file, '--confirm', '30'])).code, 0);
  r = await d.cli(['confirm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(d.configFile, 'utf8'), cut);
  assert.equal(readFileSync(`${d.configFile}.bak`, 'utf8'), original);
  await new Promise((res) => setTimeout(res, (T + 1) * 1000));
  assert.equal(await reaches(admin), false, 'still cut: confirmed');
  assert.equal((await d.cli(['rollback'])).code, 1, 'nothing to roll back');
  await d.cli(['quit']);
});

test('confirmed apply: 100 apply/rollback cycles leave no stray routes, rules, ruleset, jobs or files', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  const d = await startDaemon(lab, topo.gw, OPEN);
  await waitFor(async () => (await d.status()).uplinks.every((u) => u.state === 'up'), {
    timeoutMs: 15_000,
    what: 'both up',
  });
  const before = await footprint(topo.gw, d);
  const cut = labConfig(dirname(d.configFile), CUT);
  for (let i = 0; i < 100; i++) {
    await rpc(d.socket, 'apply', { text: cut, file: 'cut.yaml', seconds: 60 });
    await rpc(d.socket, 'rollback');
  }
  await waitFor(async () => (await d.status()).jobs.length === 0, { what: 'no job' });
  const after = await footprint(topo.gw, d);
  for (const k of Object.keys(before) as (keyof typeof before)[]) assert.deepEqual(after[k], before[k], k);
  const pids = (await topo.gw.exec(['ip', 'netns', 'pids', topo.gw.name], { check: false })).stdout;
  const cmdline = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
    } catch {
      return ''; // ended meanwhile (the `ip netns pids` itself)
    }
  };
  for (const pid of pids.split(/\s+/).filter(Boolean)) assert.doesNotMatch(cmdline(pid), /sleep 1001/, 'no job left');
  assert.ok((await d.status()).apply === undefined);
  await d.cli(['quit']);
});

test('confirmed apply: an uplink the pending config removes keeps probing, and a rollback has it back judged', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab);
  let d = await startDaemon(lab, topo.gw, twoUplinkConfig());
  const wan2 = async () => (await d.status()).uplinks.find((u) => u.name === 'wan2');
  await waitFor(async () => (await wan2())?.state === 'up', { timeoutMs: 15_000, what: 'wan2 up' });
  const upSince = (await wan2())!.since;
  const wan1Only = labConfig(
    dirname(d.configFile),
    twoUplinkConfig()
      .split('\n')
      .filter((l) => !l.includes('wan2:'))
      .join('\n'),
  );
  const file = lab.tempFile('wan1-only.yaml', wan1Only);
  assert.equal((await d.cli(['apply', file, '--confirm', '60'])).code, 0);
  const parked = async () => (await d.status()).apply?.parked?.find((p) => p.name === 'wan2')?.state;
  assert.equal(await parked(), 'up');
  assert.equal(await wan2(), undefined, 'not an uplink of the running config');
  assert.match((await d.cli(['status'])).stdout, /still probed until confirm: wan2 \(up\)/);
  // Still probed: a silent cut on its path is noticed, and its mending too.
  await topo.isp2.ip(['route', 'add', 'blackhole', `${SERVER}/32`]);
  await waitFor(async () => (await parked()) === 'failed', { timeoutMs: 10_000, what: 'parked wan2 judged failed' });
  await topo.isp2.ip(['route', 'del', 'blackhole', `${SERVER}/32`]);
  await waitFor(async () => (await parked()) === 'up', { timeoutMs: 15_000, what: 'parked wan2 judged up again' });
  assert.equal(
    await routeDev(topo.gw, SERVER, GW_WAN2),
    'wan2',
    'its own rule and table stay: probes leave through it',
  );

  // A daemon killed mid-countdown parks it again from its state file.
  d.proc.kill('SIGKILL');
  await d.proc.exited;
  d = await startDaemon(lab, topo.gw, '', { configFile: d.configFile });
  await waitFor(async () => (await parked()) === 'up', { timeoutMs: 15_000, what: 'parked again after a restart' });

  const rolled = Date.now();
  assert.equal((await d.cli(['rollback'])).code, 0);
  const back = (await wan2())!;
  assert.equal(back.state, 'up', 'judged at once, not waiting for probe rounds');
  assert.ok(Date.parse(back.since) < rolled, 'the judgement it kept while parked');
  assert.notEqual(Date.parse(back.since), Date.parse(upSince), 'it went through the cut while parked');

  // Confirmed: the removed uplink goes, with its rule and its table.
  assert.equal((await d.cli(['apply', file, '--confirm', '60'])).code, 0);
  assert.equal((await d.cli(['confirm'])).code, 0);
  await waitFor(async () => !(await topo.gw.ip(['rule', 'show'])).stdout.includes(`from ${GW_WAN2}`), {
    what: "wan2's rule removed",
  });
  assert.equal((await d.status()).apply, undefined);
  await d.cli(['quit']);
});
