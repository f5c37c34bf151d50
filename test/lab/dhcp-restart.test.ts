/**
 * DHCP is hitless like the rest: `quit` leaves the client and its lease (and the address) in
 * place; the next daemon adopts the client by pid and start time without taking the address
 * off or moving traffic, also while the DHCP server is away; `quit --teardown` releases the
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
  let server = dnsmasq(lab, isp1, { first: '198.51.100.2', last: '198.51.100.2', router: '198.51.100.1' });
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
  assert.equal((await wan1(again)).dhcp?.pid, pid, 'the same client, adopted');
  await waitFor(async () => (await again.status()).daemon.judged, { what: 'judged after restart' });
  watching = false;
  await watcher;
  assert.deepEqual([...seen], ['wan1'], 'traffic never left wan1');
  assert.equal((await wan1(again)).state, 'up');
  assert.equal(readFileSync(leaseFile!, 'utf8').split('\n').length, lines, 'a bound client is left alone');

  // With its server away, an adopted client keeps its lease: uplinkd does not poke it, because
  // a SIGUSR1 to a bound udhcpc renews once, rebinds for -T seconds and then drops the lease.
  await server.stop();
  assert.equal((await again.cli(['quit'])).code, 0);
  await again.proc.exited;
  const third = await startDaemon(lab, gw, '', { configFile: d.configFile });
  await sleep(8000);
  assert.equal(
    (await wan1(third)).dhcp?.address,
    '198.51.100.2/24',
    'the lease survives a restart with its server away',
  );
  assert.equal((await wan1(third)).state, 'up');
  process.kill(pid!, 'SIGUSR1');
  await waitFor(async () => (await wan1(third)).reason === 'no DHCP lease', {
    timeoutMs: 15_000,
    what: 'the poked client drops its lease (the busybox trap)',
  });
  await waitFor(async () => !(await hasAddress()), { timeoutMs: 5000, what: 'uplinkd taking the address off' });
  server = dnsmasq(lab, isp1, { first: '198.51.100.2', last: '198.51.100.2', router: '198.51.100.1' });
  await waitFor(async () => (await wan1(third)).state === 'up', {
    timeoutMs: 30_000,
    what: 'leased again once the server is back',
  });

  assert.equal((await third.cli(['quit', '--teardown'])).code, 0);
  await third.proc.exited;
  await waitFor(async () => !pidAlive(pid!), { timeoutMs: 5000, what: 'the client stopped' });
  assert.ok(!(await hasAddress()), 'the leased address is off the link');
  const last = readFileSync(leaseFile!, 'utf8').trim().split('\n').at(-1) ?? '';
  assert.match(last, new RegExp(`^\\d+ ${pid} deconfig `), 'the lease was released (its last event)');
});
