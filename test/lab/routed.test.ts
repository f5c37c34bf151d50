/**
 * The dual-homed office firewall, with real traffic: ISP1 routes the public block
 * 203.0.113.64/27 to the gateway; a DMZ server on 203.0.113.70 serves TCP 80 on its own
 * address beside a masqueraded LAN with a port forward. Both ISPs filter foreign source
 * addresses (BCP 38), so a packet leaving the wrong way with the wrong source is lost.
 * Pins: inbound to the public address (the client's real address seen, other ports dropped,
 * never port-forwarded although a forward uses the same port), the server's own outbound
 * source (also with the admin's own NAT table after ours), `force` moving only the LAN, the
 * fallbacks (masquerade, where a fixed-port UDP flow is released and masqueraded too; then
 * drop after a reload: refused at once) while ISP1 is silently dead, the public addresses
 * used again when it returns, a port forward through ISP2 in every phase, and nothing with the
 * block's source ever reaching ISP2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor, type Ns } from '../../src/lab/harness.js';
import { startDaemon, type RunningDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2, INET_ISP1, INET_ISP2, LAN_HOST, SERVER } from '../../src/lab/topology.js';
import { countersIn, routeDev, twoUplinkConfig } from './uplinks-lab.js';

const BLOCK = '203.0.113.64/27';
const GW_DMZ = '203.0.113.65';
const DMZ_SERVER = '203.0.113.70';

/** A TCP server that answers every connection with its own name and the address it came from. */
const WHO = (name: string, addr: string, ports: number[]) =>
  `for (const p of ${JSON.stringify(ports)}) require('node:net').createServer((s) => s.end('${name} ' + s.remoteAddress + '\\n')).listen(p, '${addr}');console.log('listening');`;
const ASK = (addr: string, port: number) =>
  `const s = require('node:net').connect(${port}, '${addr}'); let d = ''; s.setTimeout(1500, () => { console.log('TIMEOUT'); process.exit(2); }); s.on('data', (c) => (d += c)); s.on('end', () => { console.log(d.trim()); process.exit(0); }); s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); });`;

async function serve(ns: Ns, name: string, addr: string, ports: number[]) {
  await ns.spawn(process.execPath, ['-e', WHO(name, addr, ports)]).waitForLine(/listening/);
}
async function ask(ns: Ns, addr: string, port: number): Promise<string> {
  return (await ns.exec([process.execPath, '-e', ASK(addr, port)], { check: false })).stdout.trim();
}
const routedOf = async (d: RunningDaemon) => (await d.status()).routed[0]!;
/** A UDP echo that answers each datagram with the address it came from. */
const UDP_ECHO = (addr: string, port: number) =>
  `const s = require('node:dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(r.address, r.port, r.address)); s.bind(${port}, '${addr}', () => console.log('listening'));`;
/** A UDP flow with fixed ports (like WireGuard or NTP): sends every 100 ms, prints each answer. */
const UDP_FLOW = (from: string, to: string, port: number) =>
  `const s = require('node:dgram').createSocket('udp4'); s.on('message', (m) => console.log('udp ' + m)); s.bind(40000, '${from}', () => { console.log('bound'); setInterval(() => s.send('x', ${port}, '${to}'), 100); });`;

test('routed public block: servers keep their addresses beside a masqueraded LAN; force, fallbacks, return', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { routed: [{ prefix: BLOCK, isp: 'isp1' }] });
  const dmz = await lab.ns('dmz');
  await lab.veth(topo.gw, 'dmz0', dmz, 'eth0', { aAddr: `${GW_DMZ}/27`, bAddr: `${DMZ_SERVER}/27` });
  await dmz.ip(['route', 'add', 'default', 'via', GW_DMZ]);
  // The admin's own NAT table after ours (an iptables-nft or old nftables.conf leftover): our
  // null binding keeps it from masquerading the block.
  await topo.gw.nft(
    'table ip adminnat {\n  chain post { type nat hook postrouting priority 110; oifname "wan1" masquerade; }\n}\n',
  );
  // Nothing with the block's source may ever reach ISP2 (it would drop it: BCP 38).
  const leaks = await countersIn(topo.isp2, { leak: `iifname "down" ip saddr ${BLOCK}` });
  const config = (fallback: string) =>
    twoUplinkConfig({
      extra: `lan:
  - { interface: lan0, zone: lan }
  - { interface: dmz0, zone: dmz, routed: [${BLOCK}], via: [wan1], fallback: ${fallback} }
forwards:
  - { proto: tcp, port: 80, to: "${LAN_HOST}:80" }
  - { proto: tcp, port: 8081, to: "${DMZ_SERVER}:80", uplink: wan2 }
firewall:
  forward:
    - { proto: tcp, port: 80, to: ${DMZ_SERVER} }
`,
    });
  const d = await startDaemon(lab, topo.gw, config('masquerade'));
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  await waitFor(async () => (await routedOf(d)).carrier === 'wan1', { what: 'the block carried by wan1' });
  await serve(topo.inet, 'inet', SERVER, [8080]);
  await serve(dmz, 'dmz', DMZ_SERVER, [80, 81]);
  await serve(topo.lan, 'lan', LAN_HOST, [80]);
  await topo.inet.spawn(process.execPath, ['-e', UDP_ECHO(SERVER, 5353)]).waitForLine(/listening/);
  const udp = dmz.spawn(process.execPath, ['-e', UDP_FLOW(DMZ_SERVER, SERVER, 5353)]);
  await udp.waitForLine(new RegExp(`^udp ${DMZ_SERVER}$`), { timeoutMs: 5000 });

  const dmzOut = () => ask(dmz, SERVER, 8080);
  const lanOut = () => ask(topo.lan, SERVER, 8080);
  const inbound = () => ask(topo.inet, DMZ_SERVER, 80);
  // The admin's way in while ISP1 is down: a port forward on ISP2 to the routed server.
  const throughIsp2 = () => ask(topo.inet, GW_WAN2, 8081);

  // The office as planned.
  assert.equal(await inbound(), `dmz ${INET_ISP1}`, 'reached on its own address; sees the real client');
  assert.equal(await ask(topo.inet, DMZ_SERVER, 81), 'TIMEOUT', 'a port not opened is dropped');
  assert.equal(await dmzOut(), `inet ${DMZ_SERVER}`, "the server's own connections keep its address");
  assert.equal(await lanOut(), `inet ${GW_WAN1}`, 'the LAN is masqueraded');
  assert.equal(await ask(topo.inet, GW_WAN1, 80), `lan ${INET_ISP1}`, 'the port forward to the LAN host still works');
  assert.equal(await throughIsp2(), `dmz ${INET_ISP2}`, 'a port forward through ISP2 reaches the routed server');
  const ping = await topo.inet.exec(['ping', '-c', '1', '-W', '2', DMZ_SERVER], { check: false });
  assert.equal(ping.code, 0, 'echo requests to routed addresses pass');

  // force moves the LAN only.
  assert.equal((await d.cli(['force', 'wan2'])).code, 0);
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 5000, what: 'forced to wan2' });
  assert.equal(await lanOut(), `inet ${GW_WAN2}`, 'the LAN leaves through ISP2');
  assert.equal(await dmzOut(), `inet ${DMZ_SERVER}`, 'the server still leaves through ISP1 with its own address');
  assert.equal(await inbound(), `dmz ${INET_ISP1}`, 'inbound still works');
  assert.equal((await routedOf(d)).carrier, 'wan1');
  assert.equal((await d.cli(['unforce'])).code, 0);
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', { timeoutMs: 5000, what: 'unforced' });

  // ISP1 dies silently; then it comes back.
  const outage = async (expectDmz: (got: string) => void | Promise<void>, phase: string) => {
    await topo.blackhole('isp1');
    await waitFor(async () => (await routedOf(d)).onFallback, { timeoutMs: 8000, what: `${phase}: on its fallback` });
    await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 5000, what: 'LAN failover' });
    assert.equal(await lanOut(), `inet ${GW_WAN2}`, `${phase}: the LAN fails over to ISP2`);
    await expectDmz(await dmzOut());
    assert.equal(await throughIsp2(), `dmz ${INET_ISP2}`, `${phase}: the port forward through ISP2 still works`);
    await topo.unblackhole('isp1');
    await waitFor(async () => (await routedOf(d)).carrier === 'wan1', {
      timeoutMs: 10_000,
      what: `${phase}: back on wan1`,
    });
    assert.equal(await dmzOut(), `inet ${DMZ_SERVER}`, `${phase}: the public address is used again`);
    assert.equal(await inbound(), `dmz ${INET_ISP1}`, `${phase}: inbound works again`);
  };
  await outage(async (got) => {
    assert.equal(got, `inet ${GW_WAN2}`, 'masquerade: outbound goes on through ISP2, masqueraded');
    // The fixed-port UDP flow started under the public address: released, so it is masqueraded too.
    await udp.waitForLine(new RegExp(`^udp ${GW_WAN2}$`), { fromNow: true, timeoutMs: 5000 });
  }, 'masquerade');
  await udp.waitForLine(new RegExp(`^udp ${DMZ_SERVER}$`), { fromNow: true, timeoutMs: 5000 });
  const text = await d.cli(['status']);
  assert.match(
    text.stdout,
    /ROUTED PREFIXES\n {2}203\.0\.113\.64\/27 on dmz0 \(zone dmz\), via wan1, table \d+: carried by wan1/,
  );

  // The same outage with fallback drop, after a reload.
  const gen = (await d.status()).firewall.generation;
  writeFileSync(d.configFile, readFileSync(d.configFile, 'utf8').replace('fallback: masquerade', 'fallback: drop'));
  assert.equal((await d.cli(['reload'])).code, 0);
  await waitFor(async () => (await d.status()).firewall.generation > gen, { what: 'the drop ruleset applied' });
  assert.equal((await routedOf(d)).fallback, 'drop');
  await outage((got) => assert.equal(got, 'ERR ENETUNREACH', 'drop: outbound is refused at once'), 'drop');
  assert.equal((await leaks()).leak, 0, "nothing with the block's source reached ISP2");
  assert.equal((await d.cli(['quit'])).code, 0);
});
