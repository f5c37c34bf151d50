/**
 * DHCP is hitless like the rest: `quit` leaves the client and its lease (and the address) in
 * place; the next daemon adopts the client by pid and start time and asks it for a fresh
 * event, without taking the address off or moving traffic; `quit --teardown` releases the
 * lease, stops the client and takes the address off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { labForTest, pidAlive, sleep, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, SERVER } from '../../src/lab/topology.js';
import { dhcpCustomerLinks, dnsmasq } from '../../src/lab/dhcp.js';
import { routeDev } from './uplinks-lab.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1, priority: 10, address: dhcp, probe: { profile: fast, targets: [${SERVER}] } }
`;

test('DHCP across a restart: the client is adopted, the address stays; teardown releases it', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { bcp38: false });
  const { gw, isp1 } = topo;
  await dhcpCustomerLinks(topo);
  dnsmasq(lab, isp1, { first: '198.51.100.2', last: '198.51.100.2', router: '198.51.100.1' });
  const d = await startDaemon(lab, gw, CONFIG);
  const wan1 = async (dd = d) => (await dd.status()).uplinks.find((u) => u.name === 'wan1')!;
  await waitFor(async () => (await wan1()).state === 'up', { timeoutMs: 20_000, what: 'wan1 up' });
  const { pid, leaseFile } = (await wan1()).dhcp!;
  const hasAddress = async () =>
    (await gw.ip(['-4', 'addr', 'show', 'dev', 'wan1'])).stdout.includes('198.51.100.2/24');

  assert.equal((await d.cli(['quit'])).code, 0);
  await d.proc.exited;
  assert.ok(pidAlive(pid!), 'the client keeps running');
  assert.ok(await hasAddress(), 'and the address stays');
  const lines = readFileSync(leaseFile!, 'utf8').split('\n').length;

  const seen = new Set<string | undefined>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.add(await routeDev(gw, SERVER));
      await sleep(20);
    }
  })();
  const again = await startDaemon(lab, gw, '', { configFile: d.configFile });
  await waitFor(async () => readFileSync(leaseFile!, 'utf8').split('\n').length > lines, {
    timeoutMs: 10_000,
    what: 'a fresh event from the adopted client',
  });
  assert.equal((await wan1(again)).dhcp?.pid, pid, 'the same client, adopted');
  await waitFor(async () => (await again.status()).daemon.judged, { what: 'judged after restart' });
  watching = false;
  await watcher;
  assert.deepEqual([...seen], ['wan1'], 'traffic never left wan1');
  assert.equal((await wan1(again)).state, 'up');

  assert.equal((await again.cli(['quit', '--teardown'])).code, 0);
  await again.proc.exited;
  await waitFor(async () => !pidAlive(pid!), { timeoutMs: 5000, what: 'the client stopped' });
  assert.ok(!(await hasAddress()), 'the leased address is off the link');
  const last = readFileSync(leaseFile!, 'utf8').trim().split('\n').at(-1) ?? '';
  assert.match(last, new RegExp(`^\\d+ ${pid} deconfig `), 'the lease was released (its last event)');
});
