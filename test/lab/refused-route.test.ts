/**
 * The kernel refusing a route, for real: while wan2 is administratively down the kernel
 * refuses the default route through it in wan2's table. The daemon retries with backoff,
 * and the moment wan2 comes up (a link event) the route goes in, not at the next timed retry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { ISP2_DOWN, twoUplinkTopology } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

test('a route refused while its link is admin-down goes in the moment the link comes up, whatever the backoff', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'none' });
  await topo.gw.ip(['link', 'set', 'dev', 'wan2', 'down']);
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig());
  const refused = async () => (await d.status()).reconcile.failing.find((f) => / dev wan2 table 7302 /.test(f.op));
  const f = await waitFor(async () => ((await refused())?.count ?? 0) >= 2 && (await refused()), {
    timeoutMs: 8000,
    what: 'the wan2 route refused twice',
  });
  assert.match(
    f.op,
    new RegExp(
      `^ip -4 route (add|replace) 0\\.0\\.0\\.0/0 via ${ISP2_DOWN.replace(/\./g, '\\.')} dev wan2 table 7302 `,
    ),
  );
  const table = async () => (await topo.gw.ip(['-4', 'route', 'show', 'table', '7302', 'proto', '201'])).stdout;
  assert.doesNotMatch(await table(), /via/);
  const lines = () =>
    d.proc.lines('stderr').filter((l) => l.includes('the kernel refused') && l.includes('dev wan2')).length;
  assert.equal(lines(), 1, 'logged once, though refused more often');
  const up = Date.now();
  const nextTry = Date.parse(f.nextAt);
  await topo.gw.ip(['link', 'set', 'dev', 'wan2', 'up']);
  await waitFor(async () => /default via 203\.0\.113\.1 dev wan2/.test(await table()), {
    timeoutMs: 5000,
    what: 'the route in wan2 table',
  });
  const took = Date.now() - up;
  t.diagnostic(`in ${took} ms after the link came up; the timed retry was ${nextTry - up} ms away`);
  assert.ok(Date.now() < nextTry, `in before the timed retry (${took} ms after the link came up)`);
  await waitFor(async () => !(await refused()), { timeoutMs: 2000, what: 'no longer failing' });
  assert.equal((await d.cli(['quit'])).code, 0);
});
