/**
 * The whole Controller on the fake System: config → synthesized kernel events → probe
 * verdicts → the exact kernel ops, processes and files it plans, and a clean stop (hitless:
 * nothing removed, the connect process left running) or a teardown (everything of ours gone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { Controller } from '../../src/daemon/controller.js';
import type { FakeSystem } from '../../src/system/fake.js';
import { kernelWithTwoUplinks, link, until } from './fixtures.js';

const log = pino({ level: 'silent' });
const CONFIG = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, probe: { profile: fast }, failback_delay: 0s }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1, probe: { profile: fast } }
  dsl: { interface: ppp0, mode: backup, priority: 30, connect: "pppd call isp nodetach" }
`;

async function started(system: FakeSystem, text = CONFIG, logger = log) {
  const ctl = new Controller({
    configPath: 'test.yaml',
    config: parseConfigText(text, 'test.yaml'),
    system,
    log: logger,
  });
  await ctl.start();
  return ctl;
}

/** What one phase added to the command log. */
function since(system: FakeSystem, mark: number): string[] {
  return system.commands.slice(mark);
}

const FIRST_RUN = [
  'ip -4 route add unreachable 0.0.0.0/0 table 7301 proto 201 metric 4294967295',
  'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10',
  'ip -6 route add unreachable ::/0 table 7301 proto 201 metric 4294967295',
  'ip -4 route add unreachable 0.0.0.0/0 table 7302 proto 201 metric 4294967295',
  'ip -4 route add 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7302 proto 201 metric 10',
  'ip -6 route add unreachable ::/0 table 7302 proto 201 metric 4294967295',
  'ip -4 route add unreachable 0.0.0.0/0 table 7303 proto 201 metric 4294967295',
  'ip -6 route add unreachable ::/0 table 7303 proto 201 metric 4294967295',
  'ip -4 rule add priority 7310 from 198.51.100.2/32 lookup 7301 protocol 201',
  'ip -4 rule add priority 7350 fwmark 0x10000/0xff0000 lookup 7301 protocol 201',
  'ip -4 rule add priority 7311 from 203.0.113.2/32 lookup 7302 protocol 201',
  'ip -4 rule add priority 7351 fwmark 0x20000/0xff0000 lookup 7302 protocol 201',
  'ip -4 rule add priority 7300 lookup 254 suppress_prefixlength 0 protocol 201',
  'ip -4 rule add priority 7390 lookup 7300 protocol 201',
  'ip -6 rule add priority 7300 lookup 254 suppress_prefixlength 0 protocol 201',
  'ip -6 rule add priority 7390 lookup 7300 protocol 201',
  // Once the probes judged the uplinks: the selection, wan1 first, wan2 next.
  'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 100',
  'ip -4 route add 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 101',
];

test('controller on the fake System: config, kernel events and probe verdicts give exactly these ops; stop leaves them', async () => {
  const system = kernelWithTwoUplinks();
  let wan2Dead = false;
  system.probeAnswer = (req) =>
    wan2Dead && req.source === '203.0.113.2' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 1 };
  const ctl = await started(system);
  assert.ok(system.listening.has('/fake/uplinkd.sock'), 'the control socket is open once start() returns');
  await until('wan1 and wan2 in the selection table', () => system.commands.length >= FIRST_RUN.length);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(system.commands, FIRST_RUN);
  assert.equal(system.sysctls.get('net/ipv4/conf/wan1/ignore_routes_with_linkdown'), '1');
  // The connect command of dsl (mode backup: always dialed), through the door.
  assert.deepEqual(
    system.processes.map((p) => [(p.o as { command?: string }).command, p.o.env?.UPLINK]),
    [['pppd call isp nodetach', 'dsl']],
  );

  // The kernel says wan1 lost its carrier: wan2 carries traffic at once.
  let mark = system.commands.length;
  system.kernel.emit([{ kind: 'link', op: 'new', link: link(2, 'wan1', { carrier: false }) }]);
  await until('wan2 selected', () => since(system, mark).length >= 2);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(since(system, mark), [
    'ip -4 route replace 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 100',
    'ip -4 route del 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 101',
  ]);

  // Its probes fail too: nothing usable is left, the selection table empties.
  mark = system.commands.length;
  wan2Dead = true;
  await until('wan2 failed', () => since(system, mark).length >= 1, 5000);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(since(system, mark), [
    'ip -4 route del 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7300 proto 201 metric 100',
  ]);

  // A clean stop: nothing of ours removed, the connect process left running, the state file written.
  mark = system.commands.length;
  await ctl.stop('test');
  await ctl.stop('test again');
  assert.deepEqual(since(system, mark), [], 'hitless: no op at stop');
  assert.equal(system.processes[0]!.running, true, 'the connect process keeps running');
  assert.equal(system.listening.size, 0, 'the control socket is closed');
  const saved = JSON.parse(system.store.files.get('/fake/state/state.json')!) as {
    uplinks: Record<string, { state: string; pid?: number }>;
  };
  assert.equal(saved.uplinks.wan2!.state, 'failed');
  assert.equal(saved.uplinks.dsl!.pid, system.processes[0]!.pid, 'its pid is saved for the next daemon');
});

test('controller on the fake System: a restart adopts; quit --teardown removes every route and rule of ours', async () => {
  const system = kernelWithTwoUplinks();
  const first = await started(system);
  await until('first runs', () => system.commands.length >= FIRST_RUN.length);
  await first.stop('restart');
  const pid = system.processes[0]!.pid;
  system.adoptable.set(pid, 1);
  const mark = system.commands.length;
  const second = await started(system);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(since(system, mark), [], 'the new daemon adopts what is there');
  assert.equal(system.processes.length, 2, 'the connect process is adopted, not dialed again');
  assert.equal(system.processes[1]!.pid, pid);
  await second.stop('quit --teardown', true);
  const removed = since(system, mark);
  assert.equal(removed.length, FIRST_RUN.length, removed.join('\n'));
  assert.ok(removed.every((c) => / (route|rule) del /.test(c)));
  assert.equal(system.processes[1]!.running, false, 'the connect process was hung up');
  assert.equal(system.store.files.has('/fake/state/state.json'), false, 'the state file is gone');
});

test('controller on the fake System: a ruleset nft refuses is logged once, retried with backoff, and applied once nft accepts', async () => {
  const system = kernelWithTwoUplinks();
  system.kernel.links.set(4, link(4, 'lan0'));
  system.nftReject = 'Error: Could not process rule: No such file or directory';
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const ctl = await started(system, `${CONFIG}lan:\n  - { interface: lan0, zone: lan }\n`, logger);
  await until('routing goes on', () => system.commands.length >= FIRST_RUN.length);
  const rejected = () => lines.filter((l) => l.msg.startsWith('firewall: ruleset rejected')).length;
  await new Promise((r) => setTimeout(r, 1500)); // probe rounds every 200 ms: ~8 runs
  assert.equal(rejected(), 1, 'logged once');
  assert.ok(system.nftCalls <= 3, `backed off: ${system.nftCalls} nft calls in 1.5 s`);
  const failing = ctl.status().reconcile.failing;
  assert.deepEqual(
    failing.map((f) => [f.op, f.error]),
    [['nft ruleset', system.nftReject]],
  );
  assert.ok(failing[0]!.count >= 1);
  // A kernel event retries at once, whatever the backoff says.
  const calls = system.nftCalls;
  system.kernel.emit([
    { kind: 'addr', op: 'new', addr: { family: 4, index: 4, address: '10.66.0.1', prefixlen: 24, scope: 0 } },
  ]);
  await until('a retry right after the event', () => system.nftCalls > calls, 500);
  assert.equal(rejected(), 1, 'the same error is not logged again');
  system.nftReject = undefined;
  await until('applied once nft accepts', () => system.ruleset.table !== undefined, 31_000);
  await until('no longer failing', () => ctl.status().reconcile.failing.length === 0);
  assert.ok(
    lines.some((l) => /^nft ruleset: works again after \d+ failure\(s\)$/.test(l.msg)),
    'the recovery is logged',
  );
  const last = ctl.status().reconcile.last!;
  assert.ok(last.reasons.length > 0 && last.durationMs >= 0, JSON.stringify(last));
  await ctl.stop('test');
});

test('controller on the fake System: a refusing sysctl is retried with backoff, and forgotten (no busy loop) once its uplink is gone', async () => {
  const system = kernelWithTwoUplinks();
  system.sysctlRefuses = (key) => key.includes('/wan2/');
  const frugal = CONFIG.replace(/profile: fast/g, 'profile: frugal');
  const ctl = await started(system, frugal);
  await until('routes in', () => system.commands.length >= 10);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    ctl
      .status()
      .reconcile.failing.map((f) => f.op)
      .sort(),
    [
      'sysctl net.ipv4.conf.wan2.ignore_routes_with_linkdown=1',
      'sysctl net.ipv6.conf.wan2.accept_ra=2',
      'sysctl net.ipv6.conf.wan2.accept_ra_defrtr=1',
      'sysctl net.ipv6.conf.wan2.ignore_routes_with_linkdown=1',
    ],
  );
  // wan2 goes away: its sysctls are no longer wanted, so their failures are forgotten.
  system.kernel.emit([{ kind: 'link', op: 'del', link: link(3, 'wan2') }]);
  await until('forgotten', () => ctl.status().reconcile.failing.length === 0);
  const runs = ctl.status().reconcile.runs;
  await new Promise((r) => setTimeout(r, 1000));
  const more = ctl.status().reconcile.runs - runs;
  assert.ok(more <= 5, `the loop idles: ${more} runs in 1 s`);
  await ctl.stop('test');
});

test('controller on the fake System: a route refused while its link is admin-down goes in the moment the link is up, whatever the backoff', async () => {
  const system = kernelWithTwoUplinks();
  system.kernel.links.set(3, link(3, 'wan2', { up: false, carrier: false }));
  const down = () => [...system.kernel.links.values()].find((l) => l.name === 'wan2')?.up === false;
  // The kernel refuses a route through a link that is administratively down.
  system.refuses = (o) => ('route' in o && o.route.dev === 'wan2' && down() ? 'Network is down' : undefined);
  const ctl = await started(system);
  const wan2Route = 'ip -4 route add 0.0.0.0/0 via 203.0.113.1 dev wan2 table 7302 proto 201 metric 10';
  await until('refused twice: the backoff has grown', () => (ctl.status().reconcile.failing[0]?.count ?? 0) >= 2, 4000);
  const f = ctl.status().reconcile.failing[0]!;
  assert.equal(f.op, wan2Route);
  assert.ok(Date.parse(f.nextAt) - Date.now() > 500, 'the next timed retry is a while away');
  assert.ok(!system.commands.includes(wan2Route));
  system.kernel.emit([{ kind: 'link', op: 'new', link: link(3, 'wan2') }]);
  await until('in at once', () => system.commands.includes(wan2Route), 300);
  await until('no longer failing', () => ctl.status().reconcile.failing.length === 0, 300);
  await ctl.stop('test');
});

test('controller on the fake System: probes that pass do not make an uplink up while its table lacks its default route', async () => {
  const system = kernelWithTwoUplinks();
  let refuse = true;
  const wan1Table = (o: Parameters<NonNullable<FakeSystem['refuses']>>[0]) =>
    'route' in o && o.route.table === 7301 && o.route.type === 'unicast';
  system.refuses = (o) => (refuse && wan1Table(o) ? 'Network is unreachable' : undefined);
  const ctl = await started(system);
  const wan1 = () => ctl.status().uplinks.find((u) => u.name === 'wan1')!;
  await until('wan1 judged without its table route', () => wan1().reason === 'no default route in table 7301', 4000);
  // Not probed at all meanwhile: a probe would meet the table's unreachable default and fail.
  assert.equal(wan1().state, 'verifying');
  assert.equal(wan1().probe?.rounds, 0);
  assert.equal(ctl.status().selection.selected, 'wan2', 'traffic goes where the table is whole');
  refuse = false;
  await until('wan1 back once its route is in', () => ctl.status().selection.selected === 'wan1', 8000);
  await ctl.stop('test');
});

test('controller on the fake System: an address: dhcp uplink — client, lease → address and table, a new lease, loss', async () => {
  const system = kernelWithTwoUplinks();
  system.kernel.addrs.splice(0, 1); // wan1 has no address yet
  const dhcp = CONFIG.replace(
    'wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1,',
    'wan1: { interface: wan1, priority: 10, address: dhcp,',
  );
  const ctl = await started(system, dhcp);
  await until('udhcpc started', () =>
    system.processes.some((p) => 'command' in p.o && /udhcpc -f -i 'wan1'/.test(p.o.command)),
  );
  const client = system.processes.find((p) => 'command' in p.o && /udhcpc/.test(p.o.command))!;
  assert.equal((client.o as { env?: Record<string, string> }).env?.UPLINKD_LEASE_FILE, '/fake/state/dhcp/wan1.lease');
  assert.match(system.store.files.get('/fake/state/dhcp/udhcpc.script') ?? '', /^#!\/bin\/sh/);
  const t = Math.floor(Date.now() / 1000);
  const lease = (event: string, ip = '') =>
    `${t} ${client.pid} ${event} ip=${ip} subnet=255.255.255.0 router=${ip ? '198.51.100.1' : ''} lease=${ip ? 600 : ''} serverid=198.51.100.1\n`;
  let file = lease('deconfig') + lease('bound', '198.51.100.2');
  const write = () => {
    system.store.files.set('/fake/state/dhcp/wan1.lease', file);
    system.changed('/fake/state/dhcp', 'wan1.lease');
  };
  write();
  await until(
    'address and table route',
    () =>
      system.commands.includes('ip -4 address add 198.51.100.2/24 dev wan1') &&
      system.commands.includes('ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7301 proto 201 metric 10'),
  );
  await until('recorded as ours', () => {
    const s = JSON.parse(system.store.files.get('/fake/state/state.json') ?? '{}');
    return s.uplinks?.wan1?.dhcp?.owned?.[0] === '198.51.100.2/24' && s.uplinks.wan1.dhcp.pid === client.pid;
  });
  const mark = system.commands.length;
  file += lease('renew', '198.51.100.2');
  write();
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    since(system, mark).filter((c) => !c.includes('table 7300')),
    [],
    'a renewal changes nothing',
  );

  file += lease('nak') + lease('deconfig') + lease('bound', '198.51.100.5');
  write();
  await until('the previous address goes', () =>
    system.commands.includes('ip -4 address del 198.51.100.2/24 dev wan1'),
  );
  assert.ok(system.commands.includes('ip -4 address add 198.51.100.5/24 dev wan1'));
  // The rule follows once the kernel shows the new address (the next run).
  await until('the rule for the new address', () =>
    system.commands.includes('ip -4 rule add priority 7310 from 198.51.100.5/32 lookup 7301 protocol 201'),
  );

  file += lease('deconfig');
  write();
  await until('lost: its address goes', () => system.commands.includes('ip -4 address del 198.51.100.5/24 dev wan1'));
  await until('down', () => ctl.status().uplinks.find((u) => u.name === 'wan1')?.reason === 'no DHCP lease');
  await ctl.stop('test');
  assert.ok(client.running, 'quit leaves the client running');
});

test('controller on the fake System: no probe leaves before the first ruleset (its probe notrack rule) is applied or refused', async () => {
  const system = kernelWithTwoUplinks();
  let nftDoneAt = 0;
  const nft = system.nft.bind(system);
  system.nft = async (batch, check) => {
    await new Promise((r) => setTimeout(r, 400));
    await nft(batch, check);
    if (!check) nftDoneAt ||= Date.now();
  };
  const probes: number[] = [];
  system.probeAnswer = () => {
    probes.push(Date.now());
    return { ok: true, rttMs: 1 };
  };
  const ctl = await started(system, `${CONFIG}lan:\n  - { interface: lan0, zone: lan }\n`);
  await until('probing', () => probes.length > 0, 5000);
  assert.ok(nftDoneAt > 0 && probes[0]! >= nftDoneAt, `first probe ${probes[0]! - nftDoneAt} ms after the ruleset`);
  await ctl.stop('test');
});

test('controller on the fake System: a routed block gets its table and rule; its fallback empties the table, is an event and in status', async () => {
  const system = kernelWithTwoUplinks();
  let wan1Dead = false;
  system.probeAnswer = (req) =>
    wan1Dead && req.source === '198.51.100.2' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 1 };
  const ctl = await started(
    system,
    `${CONFIG}lan:\n  - { interface: dmz0, zone: dmz, routed: [192.0.2.64/27], via: [wan1] }\n`,
  );
  const rule = 'ip -4 rule add priority 7389 from 192.0.2.64/27 lookup 7363 protocol 201';
  const route = 'ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7363 proto 201 metric 100';
  await until('the routed table and its rule', () => system.commands.includes(rule) && system.commands.includes(route));
  const routed = () => ctl.status().routed[0]!;
  assert.equal(routed().carrier, 'wan1');
  assert.equal(routed().onFallback, false);
  const mark = system.commands.length;
  // wan1 fails: the block's table empties (lookups fall through to the selection), an event says so.
  wan1Dead = true;
  await until('on the fallback', () => routed().onFallback, 5000);
  await until('the route gone', () =>
    since(system, mark).some((c) => c.startsWith('ip -4 route del') && c.includes('table 7363')),
  );
  const ev = ctl.bus.history().filter((e) => e.type === 'routed');
  assert.deepEqual(
    ev.map((e) => e.type === 'routed' && [e.carrier, e.prev, e.fallback]),
    [
      ['wan1', undefined, 'masquerade'],
      [undefined, 'wan1', 'masquerade'],
    ],
  );
  // Its flows the new path cannot carry start over (beside the loop, after the route moved).
  await until('flows released', () => system.routedReleases.length >= 2);
  assert.deepEqual(system.routedReleases.at(-1), ['192.0.2.64/27']);
  const releases = system.routedReleases.length;
  wan1Dead = false;
  await until('back on wan1', () => routed().carrier === 'wan1', 8000);
  await until('released again on the way back', () => system.routedReleases.length === releases + 1);
  await ctl.stop('test');
});
