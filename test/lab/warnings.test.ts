/**
 * Setups that validate but cannot work, seen by the running daemon on the lab's real
 * addresses (status `warnings` and one log line each): a forward to no LAN network, a forward
 * to the gateway's own uplink address, and LAN IPv6 carried by an uplink whose ISP does not
 * route the LAN prefix (the BCP 38 drop of defect 5). `uplink check` on the gateway says the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon, UPLINK } from '../../src/lab/daemon.js';
import {
  twoUplinkTopology,
  GW_WAN1,
  ISP1_DOWN,
  ISP1_DOWN_6,
  ISP2_DOWN,
  ISP2_DOWN_6,
  SERVER,
  SERVER6,
} from '../../src/lab/topology.js';

const probe = `probe: { profile: fast, targets: [${SERVER}, "${SERVER6}"] }`;
const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, gateway6: "${ISP1_DOWN_6}", ${probe}, ipv6_prefixes: ["2001:db8:66::/48"] }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, gateway6: "${ISP2_DOWN_6}", ${probe} }
lan:
  - { interface: lan0, zone: lan }
forwards:
  - { proto: tcp, port: 80, to: "10.66.0.2:80" }
  - { proto: tcp, port: 81, to: "10.99.0.5:80" }
  - { proto: tcp, port: 82, to: ${GW_WAN1} }
`;

test('warnings: forwards that cannot work and LAN IPv6 through an ISP that does not route its prefix', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, CONFIG);
  const s = await waitFor(
    async () => {
      const st = await d.status();
      return st.warnings.some((w) => w.path === 'uplinks.wan2') && st;
    },
    { timeoutMs: 15_000, what: 'the IPv6 warning for wan2' },
  );
  const paths = s.warnings.map((w) => w.path).sort();
  assert.deepEqual(paths, ['forwards[1].to', 'forwards[2].to', 'uplinks.wan2'], JSON.stringify(s.warnings));
  assert.match(s.warnings.find((w) => w.path === 'uplinks.wan2')!.message, /does not route/);
  const logged = d.proc.lines().filter((l) => /"level":40/.test(l) && /config: /.test(l));
  assert.equal(logged.length, 3, logged.join('\n'));

  const check = await topo.gw.exec([process.execPath, UPLINK, 'check', '--json', d.configFile]);
  const c = JSON.parse(check.stdout) as { ok: boolean; warnings: { path: string }[] };
  assert.equal(c.ok, true);
  assert.deepEqual(c.warnings.map((w) => w.path).sort(), paths);
});
