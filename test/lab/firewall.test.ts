/**
 * Firewall and NAT with real traffic: masquerade out of whichever uplink is
 * selected, port forwards into a DMZ through either uplink (replies leave the
 * way the connection came, or a BCP 38 ISP drops them), zone policy, foreign
 * tables untouched, our table restored after `nft flush ruleset`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, sleep, waitFor, type Lab, type Ns } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2, LAN_HOST, SERVER } from '../../src/lab/topology.js';
import { routeDev, twoUplinkConfig } from './uplinks-lab.js';

const DMZ_HOST = '10.77.0.2';
/** A TCP server that answers every connection with the address it came from. */
const WHO = (addr: string, port: number) =>
  `require('node:net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(${port}, '${addr}', () => console.log('listening'));`;
const ASK = (addr: string, port: number) =>
  `const s = require('node:net').connect(${port}, '${addr}'); let d = ''; s.setTimeout(1500, () => { console.log('TIMEOUT'); process.exit(2); }); s.on('data', (c) => (d += c)); s.on('end', () => { console.log(d.trim()); process.exit(0); }); s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); });`;

async function serve(ns: Ns, addr: string, port: number) {
  const p = ns.spawn(process.execPath, ['-e', WHO(addr, port)]);
  await p.waitForLine(/listening/);
}
async function ask(ns: Ns, addr: string, port: number): Promise<string> {
  return (await ns.exec([process.execPath, '-e', ASK(addr, port)], { check: false })).stdout.trim();
}

async function setup(t: Parameters<typeof labForTest>[0], extraYaml = '') {
  const lab: Lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'none' });
  const dmz = await lab.ns('dmz');
  await lab.veth(topo.gw, 'dmz0', dmz, 'eth0', { aAddr: '10.77.0.1/24', bAddr: `${DMZ_HOST}/24` });
  await dmz.ip(['route', 'add', 'default', 'via', '10.77.0.1']);
  // The admin's own table (no counters: traffic would change them, we must not change anything).
  await topo.gw.nft(
    'table inet foreign {\n  chain c { type filter hook forward priority 10; policy accept; ip saddr 10.99.0.0/16 drop; }\n}\n',
  );
  const foreignBefore = (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'foreign'])).stdout;
  const config = twoUplinkConfig({
    extra: `lan:\n  - { interface: lan0, zone: lan }\n  - { interface: dmz0, zone: dmz }\nforwards:\n  - { proto: tcp, port: 8080, to: "${DMZ_HOST}:80", zone: lan }\n${extraYaml}`,
  });
  const d = await startDaemon(lab, topo.gw, config);
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  await waitFor(async () => (await d.status()).firewall.generation > 0, { what: 'firewall applied' });
  await serve(topo.inet, SERVER, 8080);
  await serve(dmz, DMZ_HOST, 80);
  return { lab, topo, dmz, d, foreignBefore };
}

test('masquerade follows the selection; forwards work through both uplinks; zones; foreign table untouched', async (t) => {
  const { topo, dmz, d, foreignBefore } = await setup(t);
  // The LAN reaches the internet, NATed to the selected uplink's address (the ISPs drop anything else).
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN1);
  // A port forward into the DMZ, through the primary and through the backup while the primary is selected.
  assert.equal(await ask(topo.inet, GW_WAN1, 8080), '192.0.2.2');
  assert.equal(
    await ask(topo.inet, GW_WAN2, 8080),
    '192.0.2.6',
    'the reply left through wan2 although wan1 is selected',
  );
  assert.equal(await ask(topo.inet, GW_WAN1, 8081), 'TIMEOUT', 'a port that is not forwarded stays closed');
  // Hairpin: a LAN client uses the public address of the forward.
  assert.equal(await ask(topo.lan, GW_WAN1, 8080), LAN_HOST);
  assert.equal(await ask(topo.lan, GW_WAN2, 8080), LAN_HOST);
  // lan → dmz allowed; dmz → lan refused.
  await serve(topo.lan, LAN_HOST, 9000);
  assert.equal(await ask(topo.lan, DMZ_HOST, 80), LAN_HOST);
  assert.notEqual(await ask(dmz, LAN_HOST, 9000), LAN_HOST);
  // Failover: new connections leave from the backup's address.
  await topo.blackhole('isp1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', { timeoutMs: 5000, what: 'failover' });
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN2);
  const q = await d.cli(['quit']);
  assert.equal(q.code, 0);
  assert.equal(
    (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'foreign'])).stdout,
    foreignBefore,
    'foreign table byte-identical',
  );
});

test('nft flush ruleset: our table is back within a second, each time, and NAT works again', async (t) => {
  const { topo, d } = await setup(t);
  // An untouched table is never restored (checks on our own applies and the backstop find nothing).
  await sleep(2500);
  assert.equal((await d.status()).firewall.restored, 0, 'no false tamper alarm');
  const gen = (await d.status()).firewall.generation;
  // The check runs on nf_tables' own change events, not on a 2 s poll: three flushes, each
  // restored within 1 s (a poll every 2 s would miss that half of the time, each time).
  for (let i = 0; i < 3; i++) {
    await topo.gw.exec(['nft', 'flush', 'ruleset']);
    const t0 = Date.now();
    await waitFor(
      async () => (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'], { check: false })).code === 0,
      { timeoutMs: 1000, intervalMs: 20, what: `table restored after flush ${i + 1}` },
    );
    t.diagnostic(`flush ${i + 1}: restored after ${Date.now() - t0} ms`);
    await sleep(1200); // the check runs at most once a second
  }
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN1, 'NAT works again');
  const s = await d.status();
  assert.ok(s.firewall.restored >= 3);
  assert.ok(s.firewall.generation > gen);
  // uplink plan: what a new config would change, against the running daemon, applying nothing.
  const next = `${d.configFile}.next`;
  writeFileSync(
    next,
    readFileSync(d.configFile, 'utf8').replace(
      'forwards:\n',
      'forwards:\n  - { proto: tcp, port: 8443, to: "10.77.0.2:443" }\n',
    ),
  );
  const plan = await d.cli(['plan', next]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /against the running daemon/);
  assert.match(plan.stdout, /\+ nft map fwd4_tcp: \[\[8080,"10\.77\.0\.2"\],\[8443,"10\.77\.0\.2"\]\]/);
  assert.doesNotMatch(plan.stdout, /ip -4 route/, 'the routes would not change');
  assert.equal((await d.status()).firewall.generation, s.firewall.generation, 'plan applied nothing');
  // A config bigger than a request line (1 MiB) is planned too: the daemon reads it by path.
  const many = Array.from({ length: 20_000 }, (_, i) => `  - { proto: udp, port: ${20_000 + i}, to: "10.77.0.2" }\n`);
  writeFileSync(next, readFileSync(d.configFile, 'utf8').replace('forwards:\n', `forwards:\n${many.join('')}`));
  const big = await d.cli(['plan', '--json', next]);
  assert.equal(big.code, 0, big.stderr);
  assert.ok((JSON.parse(big.stdout) as { firewall: { added: string[] } }).firewall.added.some((l) => /39999/.test(l)));
});

test("a config whose ruleset nft rejects is refused on reload with nft's message; the running ruleset stays", async (t) => {
  const { topo, d } = await setup(t);
  const before = await d.status();
  const listing = (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'])).stdout;
  // Valid for our schema, refused by the kernel: a set name (zone_<zone>) longer than NFT_SET_MAXNAMELEN.
  const good = readFileSync(d.configFile, 'utf8');
  writeFileSync(d.configFile, good.replace('zone: dmz }', `zone: d${'m'.repeat(300)}z }`));
  const r = await d.cli(['reload']);
  assert.notEqual(r.code, 0, 'reload refused');
  assert.match(r.stderr + r.stdout, /nft/i);
  assert.match(r.stderr + r.stdout, /name too long, 256 characters maximum/, "nft's own message");
  const after = await d.status();
  assert.equal(after.firewall.generation, before.firewall.generation, 'nothing applied');
  assert.equal(
    (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'])).stdout,
    listing,
    'the running ruleset stays',
  );
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN1, 'NAT still works');
  // The old config keeps running: a later good reload works.
  writeFileSync(d.configFile, good);
  assert.equal((await d.cli(['reload'])).code, 0);
});

/** Runs the rest of the argv with /etc/protocols hidden (or, on a minimal Debian without netbase, as it is). */
const NO_PROTOCOLS = [
  'unshare',
  '-m',
  'sh',
  '-c',
  '[ ! -e /etc/protocols ] || mount --bind /dev/null /etc/protocols || exit 1; exec "$0" "$@"',
];

test('without /etc/protocols (no netbase) the ruleset still applies and NAT works', async (t) => {
  const lab: Lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'none' });
  // The trap itself: nft resolves "ipv6-icmp" through /etc/protocols, so the hiding must make it fail.
  const probe =
    `{"nftables":[{"add":{"table":{"family":"inet","name":"t"}}},{"add":{"chain":{"family":"inet","table":"t","name":"c"}}},` +
    `{"add":{"rule":{"family":"inet","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"ipv6-icmp"}},{"accept":null}]}}}]}`;
  const file = lab.tempFile('probe.json', probe);
  const hidden = await topo.gw.exec([...NO_PROTOCOLS, 'nft', '-c', '-j', '-f', file], { check: false });
  assert.notEqual(hidden.code, 0, 'with /etc/protocols hidden, nft cannot resolve ipv6-icmp');
  assert.match(hidden.stderr, /Could not resolve protocol name/);
  const config = twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' });
  const d = await startDaemon(lab, topo.gw, config, { wrap: NO_PROTOCOLS });
  await waitFor(async () => (await d.status()).firewall.lastApply?.ok === true, {
    timeoutMs: 10_000,
    what: 'firewall applied',
  });
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'default via wan1',
  });
  await serve(topo.inet, SERVER, 8080);
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN1, 'the LAN is masqueraded');
  assert.equal((await d.cli(['quit'])).code, 0);
});

test('nft refusing every ruleset: logged once, backed off, routing goes on, applied as soon as nft accepts again', async (t) => {
  const lab: Lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'none' });
  const nft = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
  const flag = lab.tempFile('refuse', '');
  const calls = lab.tempFile('calls', '');
  // An `nft` first in the daemon's PATH that refuses every ruleset while the flag file exists.
  const bin = join(dirname(flag), 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'nft'),
    `#!/bin/sh
case " $* " in *" -f "*)
  echo apply >> ${calls}
  if [ -e ${flag} ]; then echo "Error: Could not process rule: refused by the lab" >&2; exit 1; fi;;
esac
exec ${nft} "$@"
`,
    { mode: 0o755 },
  );
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' }), {
    env: { PATH: `${bin}:${process.env.PATH}` },
  });
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', {
    timeoutMs: 10_000,
    what: 'routing without a firewall',
  });
  await sleep(3000); // 15 probe rounds on the fast profile, each a reconcile run
  const applies = () => readFileSync(calls, 'utf8').split('\n').filter(Boolean).length;
  const logged = () => d.proc.lines('stderr').filter((l) => l.includes('firewall: ruleset rejected')).length;
  assert.equal(logged(), 1, 'the error is logged once');
  assert.ok(applies() <= 4, `backed off: ${applies()} nft -f in 3 s`);
  const s = await d.status();
  const f = s.reconcile.failing.find((x) => x.op === 'nft ruleset');
  assert.ok(f && f.count >= 2 && /refused by the lab/.test(f.error), JSON.stringify(s.reconcile.failing));
  assert.equal(s.firewall.lastApply?.ok, false);
  // Routing goes on: a dead ISP still fails over.
  await topo.blackhole('isp1');
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan2', {
    timeoutMs: 5000,
    what: 'failover while nft refuses',
  });
  rmSync(flag);
  await waitFor(
    async () => {
      const now = await d.status();
      return now.firewall.lastApply?.ok === true && now.reconcile.failing.length === 0;
    },
    { timeoutMs: 35_000, what: 'applied once nft accepts, and no longer failing' },
  );
  assert.equal(logged(), 1, 'still logged once');
  assert.ok(d.proc.lines('stderr').some((l) => l.includes('nft ruleset: works again after')));
  await serve(topo.inet, SERVER, 8080);
  assert.equal(await ask(topo.lan, SERVER, 8080), GW_WAN2, 'NAT works once the ruleset is in');
  assert.equal((await d.cli(['quit'])).code, 0);
});
