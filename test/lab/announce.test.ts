/**
 * Address announcements in the dial-up lab, against servers in the "internet" namespace: a
 * dyndns2 HTTP server (src/lab/sinks.ts) sees each new address once, from that address, with
 * the credentials of the secrets file; a `badauth` answer disables the updater.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { labForTest, sleep, waitFor, type Lab, type Ns, type NsProcess } from '../../src/lab/harness.js';
import { eventsOfType, startDaemon, startSink, type RunningDaemon } from '../../src/lab/daemon.js';
import { bcp38, SERVER } from '../../src/lab/topology.js';
import { startKnot } from '../../src/lab/knot.js';
import { demandTopology, DSL_ISP, modemUp, type DemandTopology } from '../../src/lab/demand.js';

const PASSWORD = 'dyn-Pa55word-7';
/** The ISP hands out 198.51.100.2-6 on a /29: each dial may bring another address. */
const DIAL_NET = '198.51.100.0/29';

interface Req {
  url: string;
  auth?: string;
  remote: string;
}

async function dyndnsServer(inet: Ns, answers: string[]): Promise<{ proc: NsProcess; requests: () => Req[] }> {
  const { proc, got } = await startSink<Req>(inet, ['dyndns', SERVER, '8053', ...answers], 'request');
  return { proc, requests: got };
}

/** The dial-up lab with a /29 from the ISP; the address of the next dial is in `addrFile`. */
async function dialLab(lab: Lab): Promise<{ topo: DemandTopology; addrFile: string; connect: string }> {
  const topo = await demandTopology(lab);
  await topo.isp.exec(['nft', 'delete', 'table', 'inet', 'lab_bcp38']);
  await bcp38(topo.isp, [DIAL_NET]);
  await topo.inet.ip(['route', 'replace', DIAL_NET, 'via', '192.0.2.1', 'dev', 'isp']);
  const addrFile = lab.tempFile('next-address', '198.51.100.2');
  const connect = [
    'sleep 0.3',
    `ip link add wan0 type veth peer name down netns ${topo.isp.name}`,
    `ip -n ${topo.isp.name} addr add ${DSL_ISP}/29 dev down`,
    ...modemUp({ ispNs: topo.isp.name, ispDev: 'down', dev: 'wan0', address: `$(cat ${addrFile})/29` }),
    "trap 'ip link del wan0 2>/dev/null; exit 1' TERM",
    'sleep 100000 & wait',
  ].join('; ');
  return { topo, addrFile, connect };
}

function config(lab: Lab, connect: string, announce: string): string {
  const secrets = lab.tempFile('secrets.yaml', `dyn: ${JSON.stringify(PASSWORD)}\n`);
  chmodSync(secrets, 0o600);
  return `secrets: ${secrets}
uplinks:
  dsl:
    interface: wan0
    mode: always
    gateway: ${DSL_ISP}
    connect: ${JSON.stringify(connect)}
    probe: { profile: fast, targets: [${SERVER}] }
    redial: { holdoff: 0s, backoff: 1s }
lan:
  - { interface: lan0, zone: lan }
announce:
${announce}`;
}

const DYNDNS = `  - uplink: dsl
    dyndns:
      url: "http://${SERVER}:8053/nic/update?hostname={hostname}&myip={address}"
      hostname: office.example.test
      username: office
      password_secret: dyn
`;

const announceEvents = (d: RunningDaemon) => eventsOfType(d, 'announce');

/** Kills the connect shell: the link dies and uplinkd re-dials, with the address now in addrFile. */
async function redialWith(d: RunningDaemon, addrFile: string, address: string): Promise<void> {
  writeFileSync(addrFile, address);
  const s = await d.status();
  process.kill(s.uplinks.find((u) => u.name === 'dsl')!.dial!.pid!, 'SIGTERM');
}

test('announce: dyndns2 gets each new address once, from that address, with the secret credentials', async (t) => {
  const lab = await labForTest(t);
  const { topo, addrFile, connect } = await dialLab(lab);
  const server = await dyndnsServer(topo.inet, ['good {address}', 'nochg {address}']);
  const d = await startDaemon(lab, topo.gw, config(lab, connect, DYNDNS));
  await waitFor(() => server.requests().length >= 1, { timeoutMs: 20_000, what: 'the first update' });
  const first = server.requests()[0]!;
  assert.equal(first.url, '/nic/update?hostname=office.example.test&myip=198.51.100.2');
  assert.equal(first.auth, `office:${PASSWORD}`);
  assert.equal(first.remote, '198.51.100.2', 'it left through dsl, from its own address');
  await waitFor(async () => (await d.status()).announce[0]?.announced === '198.51.100.2', { what: 'status shows it' });

  await redialWith(d, addrFile, '198.51.100.5');
  await waitFor(() => server.requests().length >= 2, { timeoutMs: 30_000, what: 'the update for the new address' });
  const second = server.requests()[1]!;
  assert.match(second.url, /myip=198\.51\.100\.5$/);
  assert.equal(second.remote, '198.51.100.5');
  const ok = (await announceEvents(d)).filter((e) => e.ok).map((e) => `${e.address} ${e.result}`);
  assert.deepEqual(ok, ['198.51.100.2 good', '198.51.100.5 nochg']);

  // An unchanged address is never sent again: not on a re-dial that gets it back, not after a restart.
  await redialWith(d, addrFile, '198.51.100.5');
  await waitFor(async () => (await d.status()).uplinks[0]?.state === 'up', { timeoutMs: 30_000, what: 'dsl up again' });
  await sleep(1000);
  assert.equal(server.requests().length, 2);
  const logs = d.proc.lines('stderr').join('\n');
  assert.ok(!logs.includes(PASSWORD), 'the password is not in the log');
});

test('announce: a badauth answer disables the updater until the config changes, and says so', async (t) => {
  const lab = await labForTest(t);
  const { topo, addrFile, connect } = await dialLab(lab);
  const server = await dyndnsServer(topo.inet, ['badauth']);
  const d = await startDaemon(lab, topo.gw, config(lab, connect, DYNDNS));
  await waitFor(async () => (await announceEvents(d)).some((e) => e.disabled), {
    timeoutMs: 20_000,
    what: 'the updater disabled',
  });
  const e = (await announceEvents(d)).find((x) => x.disabled)!;
  assert.equal(e.result, 'badauth');
  assert.match(e.message, /refused; dyndns updater disabled until the config changes/);
  const status = await d.cli(['status']);
  assert.match(
    status.stdout,
    /dsl dyndns: nothing announced yet; last badauth .* DISABLED \(badauth\) until the config changes/,
  );
  await redialWith(d, addrFile, '198.51.100.6');
  await waitFor(async () => (await d.status()).uplinks[0]?.state === 'up', { timeoutMs: 30_000, what: 'dsl up again' });
  await sleep(1000);
  assert.equal(server.requests().length, 1, 'a new address is not sent by a disabled updater');
});

const KEY = Buffer.from('uplinkd-lab-tsig-key-32-bytes!!!').toString('base64');
const WRONG = Buffer.from('a-wrong-key-of-thirty-two-bytes!').toString('base64');

test('announce: a signed RFC 2136 update reaches knot; a wrong key is reported and not retried', async (t) => {
  const lab = await labForTest(t);
  const { topo, addrFile, connect } = await dialLab(lab);
  const knot = await startKnot(topo.inet, {
    zone: 'example.test',
    address: SERVER,
    keyName: 'office-key',
    secret: KEY,
  });
  const rfc = (name: string, secret: string) => `  - uplink: dsl
    rfc2136:
      server: ${SERVER}
      zone: example.test
      name: ${name}.example.test
      ttl: 30
      key: { name: office-key, secret_secret: ${secret} }
`;
  const yaml = config(lab, connect, rfc('office', 'tsig') + rfc('other', 'tsig_wrong')).replace(/^dyn: .*$/m, '');
  const secrets = /^secrets: (.*)$/m.exec(yaml)![1]!;
  writeFileSync(secrets, `tsig: ${KEY}\ntsig_wrong: ${WRONG}\n`);
  const d = await startDaemon(lab, topo.gw, yaml);
  await waitFor(async () => (await knot.query('office.example.test', 'A')).includes('198.51.100.2'), {
    timeoutMs: 20_000,
    what: 'knot serves the first address',
  });
  await waitFor(async () => (await announceEvents(d)).some((e) => e.disabled), {
    timeoutMs: 20_000,
    what: 'the wrong key reported',
  });
  const bad = (await announceEvents(d)).filter((e) => !e.ok);
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.result, 'NOTAUTH/BADSIG');
  assert.match(bad[0]!.message, /refused the key "office-key"/);
  assert.deepEqual(await knot.query('other.example.test', 'A'), []);

  await redialWith(d, addrFile, '198.51.100.4');
  await waitFor(
    async () => {
      const got = await knot.query('office.example.test', 'A');
      return got.length === 1 && got[0] === '198.51.100.4';
    },
    { timeoutMs: 30_000, what: 'the new address replaced the old one' },
  );
  await sleep(500);
  assert.equal((await announceEvents(d)).filter((e) => !e.ok).length, 1, 'the wrong key is not retried');
  const logs = d.proc.lines('stderr').join('\n');
  assert.ok(!logs.includes(KEY) && !logs.includes(WRONG), 'no key in the log');
});
