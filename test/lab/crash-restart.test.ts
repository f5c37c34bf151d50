/**
 * Crash and restart, as a regression test: `kill -9` while a LAN stream flows through the
 * selected uplink and a dial-up link (a connect command) is up. A new daemon adopts
 * everything: not one packet of the stream is lost, `ip monitor` shows no deletion of a
 * route or rule, and the connect process is the same one (adopted, not re-dialed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor } from '../../src/lab/harness.js';
import { modemUp } from '../../src/lab/demand.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

const RECEIVER = `
const s = require('node:dgram').createSocket('udp4');
const got = new Set();
s.on('message', (m) => got.add(m.readUInt32BE(0)));
s.bind(5000, '${SERVER}', () => console.log('listening'));
process.on('SIGTERM', () => { console.log(JSON.stringify({ got: got.size, max: Math.max(-1, ...got) })); process.exit(0); });`;
const SENDER = `
const s = require('node:dgram').createSocket('udp4');
let n = 0;
const t = setInterval(() => { const b = Buffer.alloc(4); b.writeUInt32BE(n++); s.send(b, 5000, '${SERVER}'); }, 1);
process.on('SIGTERM', () => { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ sent: n })); process.exit(0); }, 300); });`;

test('kill -9 with a LAN stream and a dial-up link up: 0 packets lost, no deletion, the dial adopted', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const dialIsp = await lab.ns('dialisp', { forwarding: true });
  const script = lab.tempFile(
    'connect.sh',
    `#!/bin/sh
ip link del dial0 2>/dev/null
ip link add dial0 type veth peer name dialp netns ${dialIsp.name}
ip -n ${dialIsp.name} addr add 100.64.0.1/30 dev dialp
${modemUp({ ispNs: dialIsp.name, ispDev: 'dialp', dev: 'dial0', address: '100.64.0.2/30' }).join('\n')}
exec sleep 100000
`,
  );
  const dial = `  dial: { interface: dial0, priority: 30, gateway: 100.64.0.1, connect: "sh ${script}", probe: { interval: 500ms, timeout: 400ms } }\n`;
  const d = await startDaemon(
    lab,
    topo.gw,
    twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' }).replace('\nlan:', `\n${dial}lan:`),
  );
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 15_000,
    what: 'default via wan1',
  });
  const dialUp = await waitFor(
    async () => {
      const u = (await d.status()).uplinks.find((x) => x.name === 'dial');
      return u?.state === 'up' && u.dial?.pid;
    },
    { timeoutMs: 15_000, what: 'the dial-up link up' },
  );
  await waitFor(async () => (await d.status()).daemon.judged, { what: 'first round judged' });

  const receiver = topo.inet.spawn(process.execPath, ['-e', RECEIVER]);
  await receiver.waitForLine(/listening/);
  const mon = topo.gw.spawn('ip', ['-o', 'monitor', 'route', 'rule']);
  await sleep(200);
  const sender = topo.lan.spawn(process.execPath, ['-e', SENDER]);
  await sleep(1000);

  d.proc.kill('SIGKILL');
  await d.proc.exited;
  const again = await startDaemon(lab, topo.gw, '', { configFile: d.configFile });
  await waitFor(async () => (await again.status()).daemon.judged, { timeoutMs: 15_000, what: 'new daemon judged' });
  await sleep(1500);

  sender.kill('SIGTERM');
  const sent = JSON.parse((await sender.waitForLine(/\{.*"sent".*\}/))[0]) as { sent: number };
  await sleep(300);
  receiver.kill('SIGTERM');
  const got = JSON.parse((await receiver.waitForLine(/\{.*"got".*\}/))[0]) as { got: number; max: number };
  mon.kill('SIGTERM');

  t.diagnostic(JSON.stringify({ sent: sent.sent, received: got.got }));
  assert.ok(sent.sent > 1500, `the stream ran (${sent.sent} packets)`);
  assert.equal(got.got, sent.sent, `lost ${sent.sent - got.got} of ${sent.sent}`);
  const deleted = mon.lines('stdout').filter((l) => /^Deleted/.test(l));
  assert.deepEqual(deleted, [], 'no route or rule deleted');
  const u = (await again.status()).uplinks.find((x) => x.name === 'dial');
  assert.equal(u?.dial?.pid, dialUp, 'the connect process was adopted, not re-dialed');
  assert.equal(u?.dial?.attempts ?? 0, 0, 'no dial by the new daemon');
});
