/**
 * 100k routes land in a foreign table while the daemon runs: it survives even if
 * its socket overruns, answers status during the flood, and counts them right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, pidAlive, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { floodBatch } from './routes.js';

test('100k foreign routes: no crash, status answers during the flood, count is right', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, 'uplinks:\n  wan1: { interface: wan1 }\n');
  const batch = floodBatch(lab, 100_000, 100);
  const flood = gw.exec(['ip', '-batch', batch], { timeoutMs: 120_000 });
  let answered = 0;
  let done = false;
  void flood.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const t0 = performance.now();
    await d.status();
    latencies.push(performance.now() - t0);
    answered++;
  }
  await flood;
  assert.ok(answered >= 2, `status answered ${answered} times during the flood`);
  const s = await waitFor(
    async () => {
      const st = await d.status();
      return st.foreignRoutes.ipv4['100'] === 100_000 && st;
    },
    { timeoutMs: 30_000, what: 'foreign count for table 100 reaching 100000' },
  );
  assert.equal(s.foreignRoutes.ipv4['100'], 100_000);
  assert.ok(pidAlive(d.proc.pid), 'daemon still running');
  t.diagnostic(
    `status calls during flood: ${answered}, max latency ${Math.max(...latencies).toFixed(1)} ms; overruns ${s.watch.overruns}, resyncs ${s.watch.resyncs}`,
  );
});

test('a netlink overrun costs a resync, not a crash, and the count ends right', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  // A 64 KB buffer cannot hold a 50k-route burst: force the overrun path.
  const d = await startDaemon(lab, gw, 'control:\n  netlink_buffer: 65536\nuplinks:\n  wan1: { interface: wan1 }\n', {
    controlYaml: true,
  });
  await gw.exec(['ip', '-batch', floodBatch(lab, 50_000, 100)], { timeoutMs: 120_000 });
  const s = await waitFor(
    async () => {
      const st = await d.status();
      return st.watch.overruns > 0 && st.watch.resyncs > 0 && st.foreignRoutes.ipv4['100'] === 50_000 && st;
    },
    { timeoutMs: 30_000, what: 'an overrun, a resync and the right count' },
  );
  assert.ok(pidAlive(d.proc.pid));
  // The stored state is still right after the resync: a new link shows up.
  const isp = await lab.ns('isp');
  await lab.veth(gw, 'wan1', isp, 'down');
  await waitFor(async () => (await d.status()).uplinks[0].link.present, { what: 'wan1 seen after the resync' });
  t.diagnostic(`overruns ${s.watch.overruns}, resyncs ${s.watch.resyncs}`);
});
