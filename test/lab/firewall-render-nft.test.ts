/**
 * The renderer against the real nft (1.0.6 here): `nft -c -j -f` (check mode: the kernel
 * validates the whole batch, then it is aborted; nothing changes, so it runs on the host)
 * accepts every rendering; inside a lab namespace the batch applies, lists back, replaces
 * itself, leaves a foreign table alone, and carries real traffic: port forwards through the
 * map pairs (IPv4 and IPv6), masquerade, the ct mark restored on replies, wan drops.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readGeneration, renderRuleset, type FirewallInput } from '../../src/firewall/render.js';
import { labForTest, type Lab, type Ns } from '../../src/lab/harness.js';

const run = promisify(execFile);

const BASE: FirewallInput = {
  uplinks: [
    { name: 'fiber', iface: 'wan0', mark: 0x010000 },
    { name: 'lte', iface: 'wwan0', mark: 0x020000 },
  ],
  zones: [
    { iface: 'lan0', zone: 'lan' },
    { iface: 'dmz0', zone: 'dmz' },
  ],
  forwards: [],
  input: [],
  fwmarkMask: 0xff0000,
  generation: 1,
};

const many = (n: number, proto: 'tcp' | 'udp' = 'tcp') =>
  Array.from({ length: n }, (_, k) => ({
    proto,
    port: 10000 + k,
    to: `10.1.${k >> 8}.${k & 255}:${k % 2 ? 22 : 10000 + k}`,
  }));

const CASES: [string, FirewallInput][] = [
  ['none', { uplinks: [], zones: [], forwards: [], input: [], fwmarkMask: 0xff0000, generation: 1 }],
  [
    '2 uplinks + lan + dmz + 3 forwards incl. a range',
    {
      ...BASE,
      forwards: [
        { proto: 'tcp', port: 80, to: '10.66.0.2:8080' },
        { proto: 'tcp', port: 443, to: '10.66.0.2:443' },
        { proto: 'udp', port: '5000-5010', to: '10.77.0.2' },
      ],
    },
  ],
  [
    'an IPv6 forward',
    {
      ...BASE,
      forwards: [
        { proto: 'tcp', port: 80, to: '[2001:db8:66::2]:8080' },
        { proto: 'udp', port: '60-70', to: '2001:db8:66::3' },
      ],
    },
  ],
  [
    'a restricted forward (uplink + from, mixed families, host bits, overlaps)',
    {
      ...BASE,
      forwards: [
        {
          proto: 'tcp',
          port: 2222,
          to: '10.66.0.2:22',
          uplink: ['lte', 'fiber'],
          from: ['198.51.100.7/24', '198.51.100.128/25', '2001:db8::/32'],
        },
        { proto: 'tcp', port: 2223, to: '[2001:db8:66::2]:22', uplink: 'fiber', from: ['2001:db8:5::1/48'] },
        { proto: 'tcp', port: '9000-9010', to: '10.66.0.4:7000' },
      ],
    },
  ],
  [
    'input opens with from CIDRs',
    {
      ...BASE,
      input: [
        { proto: 'tcp', port: 22, from: ['192.0.2.0/24', '198.51.100.9/30', '2001:db8:5::/48', '0.0.0.0/0'] },
        { proto: 'udp', port: '60000-61000' },
        { proto: 'tcp', port: 443 },
      ],
    },
  ],
  ['1000 forwards', { ...BASE, forwards: [...many(1000), ...many(10, 'udp')] }],
  [
    'odd names: zone with a dash, VLAN interface, no MSS clamp, high generation',
    {
      ...BASE,
      zones: [
        { iface: 'eth1.100', zone: 'my-zone' },
        { iface: 'lan0', zone: 'lan' },
      ],
      mssClamp: false,
      generation: 2 ** 32 - 1,
    },
  ],
];

async function withFile<T>(content: unknown, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'uplinkd-render-'));
  try {
    const file = join(dir, 'batch.json');
    await writeFile(file, JSON.stringify(content));
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `nft -c -j -f FILE` on the host: check mode only, it changes nothing. */
const nftCheck = (batch: unknown) =>
  withFile(batch, (file) =>
    run('nft', ['-c', '-j', '-f', file], { maxBuffer: 64 << 20 }).then(
      () => '',
      (e) => String(e.stderr || e.message),
    ),
  );

for (const [name, input] of CASES) {
  test(`nft -c -j -f accepts the rendering: ${name}`, async () => {
    assert.equal(await nftCheck(renderRuleset(input)), '');
  });
}

test('check mode really checks: one bad rule rejects the whole batch', async () => {
  const batch = renderRuleset(CASES[1]![1]) as { nftables: unknown[] };
  batch.nftables.push({
    add: {
      rule: {
        family: 'inet',
        table: 'uplinkd',
        chain: 'input',
        expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: '@no_such_set' } }, { accept: null }],
      },
    },
  });
  assert.match(await nftCheck(batch), /no_such_set|No such file/);
});

// ---------------------------------------------------------------------------------------
// Inside a namespace

async function nftApply(lab: Lab, ns: Ns, batch: unknown): Promise<void> {
  const file = lab.tempFile('nft-json', JSON.stringify(batch));
  await ns.exec(['nft', '-j', '-f', file]);
}
const listJson = async (ns: Ns, ...what: string[]) =>
  JSON.parse((await ns.exec(['nft', '-j', 'list', ...what])).stdout) as { nftables: Record<string, any>[] };

test('in a namespace: applies, lists back, replaces itself atomically, leaves a foreign table alone', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  await gw.nft(
    'table inet foreign {\n  chain c { type filter hook forward priority 10; policy accept; ip saddr 10.99.0.0/16 drop; }\n}\n',
  );
  const foreign = (await gw.exec(['nft', 'list', 'table', 'inet', 'foreign'])).stdout;
  const input: FirewallInput = {
    ...CASES[1]![1],
    forwards: [
      ...CASES[1]![1].forwards,
      { proto: 'tcp', port: 22, to: '[2001:db8:66::2]:22' },
      { proto: 'tcp', port: 2222, to: '10.66.0.2:22', uplink: 'fiber', from: ['192.0.2.0/24'] },
    ],
    input: [{ proto: 'tcp', port: 22, from: ['192.0.2.0/24', '2001:db8:5::/48'] }],
  };
  await nftApply(lab, gw, renderRuleset(input));
  const text = (await gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'])).stdout;

  const listed = await listJson(gw, 'table', 'inet', 'uplinkd');
  const chains = listed.nftables
    .filter((o) => o.chain)
    .map((o) => `${o.chain.name}:${o.chain.type}:${o.chain.hook}:${o.chain.prio}:${o.chain.policy}`);
  assert.deepEqual(chains.sort(), [
    'forward:filter:forward:0:accept',
    'input:filter:input:0:accept',
    'mangle_pre:filter:prerouting:-150:accept',
    'nat_post:nat:postrouting:100:accept',
    'nat_pre:nat:prerouting:-100:accept',
  ]);
  const maps = Object.fromEntries(
    listed.nftables.filter((o) => o.map).map((o) => [o.map.name, `${o.map.type} : ${o.map.map}`]),
  );
  assert.deepEqual(maps, {
    fwd4_tcp: 'inet_service : ipv4_addr',
    fwd4_tcp_port: 'inet_service : inet_service',
    fwd4_udp_keep: 'inet_service : ipv4_addr',
    fwd6_tcp: 'inet_service : ipv6_addr',
    fwd6_tcp_port: 'inet_service : inet_service',
  });
  assert.equal(readGeneration(listed), 1);
  assert.match(text, /meta nfproto ipv4 oifname @wan_ifaces masquerade/);
  assert.match(text, /dnat ip to tcp dport map @fwd4_tcp:tcp dport map @fwd4_tcp_port/);
  assert.match(text, /iifname @zone_dmz oifname @zone_lan drop/);

  // Replace: a second batch (next generation, one forward fewer) leaves exactly one table.
  await nftApply(lab, gw, renderRuleset({ ...input, forwards: input.forwards.slice(1), generation: 2 }));
  const after = await listJson(gw, 'ruleset');
  const tables = after.nftables.filter((o) => o.table).map((o) => `${o.table.family} ${o.table.name}`);
  assert.deepEqual(tables.sort(), ['inet foreign', 'inet uplinkd']);
  assert.equal(readGeneration(await listJson(gw, 'table', 'inet', 'uplinkd')), 2);
  const fwd4 = after.nftables.find((o) => o.map?.name === 'fwd4_tcp')!.map;
  assert.deepEqual(fwd4.elem, [[443, '10.66.0.2']], 'the old elements are gone, not merged');
  assert.equal((await gw.exec(['nft', 'list', 'table', 'inet', 'foreign'])).stdout, foreign, 'foreign table untouched');

  // A rejected batch leaves the running table as it was.
  const bad = renderRuleset({ ...input, generation: 3 }) as { nftables: unknown[] };
  bad.nftables.push({
    add: { rule: { family: 'inet', table: 'uplinkd', chain: 'input', expr: [{ jump: { target: 'no_such_chain' } }] } },
  });
  const file = lab.tempFile('nft-bad', JSON.stringify(bad));
  assert.notEqual((await gw.exec(['nft', '-j', '-f', file], { check: false })).code, 0);
  assert.equal(readGeneration(await listJson(gw, 'table', 'inet', 'uplinkd')), 2);
});

// ---------------------------------------------------------------------------------------
// Real traffic
//
//   client(x0) ──── (wan0)gw(lan0) ──── (eth0)lan
//   198.51.100.1/30    .2/30  10.66.0.1/24    10.66.0.2/24     + 2001:db8:1::/64, 2001:db8:66::/64
//   lo 192.0.2.100: an "Internet" source gw has no route back to, except by our fwmark rule

const WHO = (ports: number[]) =>
  `for (const p of ${JSON.stringify(ports)}) require('node:net').createServer((s) => s.end(p + ' ' + s.remoteAddress + '\\n')).listen(p, '::', () => console.log('listening ' + p));`;
const ASK = `const [h, p, from] = process.argv.slice(1); const s = require('node:net').connect({ host: h, port: +p, ...(from ? { localAddress: from } : {}) }); let d = '';
s.setTimeout(1500, () => { console.log('TIMEOUT'); process.exit(2); }); s.on('data', (c) => (d += c));
s.on('end', () => { console.log(d.trim()); process.exit(0); }); s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); });`;
const ask = async (ns: Ns, host: string, port: number, from?: string) =>
  (
    await ns.exec([process.execPath, '-e', ASK, host, String(port), ...(from ? [from] : [])], { check: false })
  ).stdout.trim();

test('real traffic in namespaces: forwards via the map pairs (v4, v6, kept port), masquerade, mark restore, drops', async (t) => {
  const lab = await labForTest(t);
  // rp_filter off on gw: the client's 192.0.2.100 is reachable only through the fwmark rule,
  // which a first packet (no mark yet) cannot use.
  // No DAD: a tentative link-local address keeps the kernel from resolving neighbours for
  // forwarded IPv6 for a second or two, and the IPv6 forward then times out now and then.
  const noDad = { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 };
  const gw = await lab.ns('gw', {
    forwarding: true,
    sysctls: {
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
      'net.ipv6.conf.all.forwarding': 1,
      ...noDad,
    },
  });
  const client = await lab.ns('client', { sysctls: noDad });
  const lan = await lab.ns('lan', { sysctls: noDad });
  await lab.veth(gw, 'wan0', client, 'x0', { aAddr: '198.51.100.2/30', bAddr: '198.51.100.1/30' });
  await lab.veth(gw, 'lan0', lan, 'eth0', { aAddr: '10.66.0.1/24', bAddr: '10.66.0.2/24' });
  for (const [ns, dev, addr] of [
    [gw, 'wan0', '2001:db8:1::2/64'],
    [client, 'x0', '2001:db8:1::1/64'],
    [gw, 'lan0', '2001:db8:66::1/64'],
    [lan, 'eth0', '2001:db8:66::2/64'],
  ] as const) {
    await ns.ip(['-6', 'addr', 'add', addr, 'dev', dev, 'nodad']);
  }
  await client.ip(['addr', 'add', '192.0.2.100/32', 'dev', 'lo']);
  await client.ip(['route', 'add', '10.66.0.0/24', 'via', '198.51.100.2']);
  await client.ip(['-6', 'route', 'add', '2001:db8:66::/64', 'via', '2001:db8:1::2']);
  await lan.ip(['route', 'add', 'default', 'via', '10.66.0.1']);
  await lan.ip(['-6', 'route', 'add', 'default', 'via', '2001:db8:66::1']);
  // What the routing side adds: replies marked 0x10000 (uplink fiber) go back out wan0.
  await gw.ip(['route', 'add', 'default', 'via', '198.51.100.1', 'table', '100']);
  await gw.ip(['rule', 'add', 'priority', '100', 'fwmark', '0x10000/0xff0000', 'lookup', '100']);

  await nftApply(
    lab,
    gw,
    renderRuleset({
      uplinks: [{ name: 'fiber', iface: 'wan0', mark: 0x010000 }],
      zones: [{ iface: 'lan0', zone: 'lan' }],
      forwards: [
        { proto: 'tcp', port: 80, to: '10.66.0.2:8080' },
        { proto: 'tcp', port: 81, to: '10.66.0.2:8081' },
        { proto: 'tcp', port: 80, to: '[2001:db8:66::2]:8081' },
        { proto: 'tcp', port: '9000-9001', to: '10.66.0.2' },
      ],
      input: [{ proto: 'tcp', port: 2222, from: ['198.51.100.0/30'] }],
      fwmarkMask: 0xff0000,
      generation: 1,
    }),
  );

  const srv = lan.spawn(process.execPath, ['-e', WHO([8080, 8081, 9001])]);
  await srv.waitForLine(/listening 9001/);
  const client2 = client.spawn(process.execPath, ['-e', WHO([7000])]);
  await client2.waitForLine(/listening 7000/);

  // Port forwards: map pair (port changed), same port in v6 to another target, kept-port range.
  assert.match(await ask(client, '198.51.100.2', 80), /^8080 ::ffff:198\.51\.100\.1$/);
  assert.match(await ask(client, '198.51.100.2', 81), /^8081 ::ffff:198\.51\.100\.1$/);
  assert.match(await ask(client, '2001:db8:1::2', 80), /^8081 2001:db8:1::1$/);
  assert.match(await ask(client, '198.51.100.2', 9001), /^9001 /);
  // From a source gw can reach only by the fwmark rule: works only if the reply got the
  // uplink's mark back from the ct mark (mangle_pre).
  assert.notEqual(
    (await gw.ip(['route', 'get', '192.0.2.100', 'from', '10.66.0.2', 'iif', 'lan0'], { check: false })).code,
    0,
    'no route without the mark',
  );
  assert.match(await ask(client, '198.51.100.2', 80, '192.0.2.100'), /^8080 ::ffff:192\.0\.2\.100$/);
  const ctab = (await gw.exec(['cat', '/proc/net/nf_conntrack'])).stdout;
  assert.match(
    ctab,
    /src=192\.0\.2\.100 dst=198\.51\.100\.2 sport=\d+ dport=80 .*mark=65536/,
    'ct mark 0x10000 on the forwarded connection',
  );

  // Masquerade out of the uplink.
  assert.equal(await ask(lan, '198.51.100.1', 7000), '7000 ::ffff:198.51.100.2');
  // wan → lan directly: dropped (not DNATed); ports not opened on the gateway: dropped;
  // an opened one reaches the stack (refused: nothing listens there).
  assert.equal(await ask(client, '10.66.0.2', 8080), 'TIMEOUT');
  assert.equal(await ask(client, '2001:db8:66::2', 8081), 'TIMEOUT');
  assert.equal(await ask(client, '198.51.100.2', 2223), 'TIMEOUT');
  assert.equal(await ask(client, '198.51.100.2', 2222), 'ERR ECONNREFUSED');
  // The gateway can still ping out (established) and be pinged (ICMP open).
  assert.equal((await client.exec(['ping', '-c1', '-W2', '198.51.100.2'], { check: false })).code, 0);
});
