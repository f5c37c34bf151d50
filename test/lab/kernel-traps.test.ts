/**
 * Kernel and tool behaviour this project found and relies on working around.
 * If one of these starts failing, the workaround named in the test may be
 * obsolete or, worse, wrong on that kernel.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { labForTest } from '../../src/lab/harness.js';
import { parseFibTriestat } from '../../src/system/fib-triestat.js';
import { cgroup2SuperOptions } from '../../src/system/supervise/cgroup.js';

test('an IPv6 route added with metric 0 is stored as metric 1024 (so our uplink tables use metric 10)', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  await ns.ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await ns.ip(['addr', 'add', '2001:db8:5::1/64', 'dev', 'v0', 'nodad']);
  await ns.ip(['link', 'set', 'v0', 'up']);
  await ns.ip(['link', 'set', 'v1', 'up']);
  await ns.ip(['-6', 'route', 'add', 'default', 'via', '2001:db8:5::2', 'dev', 'v0', 'table', '7301', 'metric', '0']);
  assert.match((await ns.ip(['-6', 'route', 'show', 'table', '7301'])).stdout, /metric 1024/);
  // And adding "metric 0" again collides with it: a planner keyed by metric 0 would retry forever.
  const again = await ns.ip(
    ['-6', 'route', 'add', 'default', 'via', '2001:db8:5::2', 'dev', 'v0', 'table', '7301', 'metric', '0'],
    { check: false },
  );
  assert.notEqual(again.code, 0);
});

test('ip -batch lines take no -4/-6, and without -force the first bad line stops the rest', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  const bad = lab.tempFile('batch', '-4 route add unreachable 0.0.0.0/0 table 7301\n');
  assert.notEqual((await ns.exec(['ip', '-batch', bad], { check: false })).code, 0);
  const stops = lab.tempFile(
    'batch',
    'route add unreachable 0.0.0.0/0 table 7301\nroute add unreachable 0.0.0.0/0 table 7301\nroute add unreachable 0.0.0.0/0 table 7302\n',
  );
  assert.notEqual((await ns.exec(['ip', '-4', '-batch', stops], { check: false })).code, 0);
  assert.equal(
    (await ns.ip(['-4', 'route', 'show', 'table', '7302'], { check: false })).stdout.trim(),
    '',
    'the line after the error never ran',
  );
  await ns.ip(['-4', 'route', 'flush', 'table', '7301']);
  assert.notEqual(
    (await ns.exec(['ip', '-4', '-force', '-batch', stops], { check: false })).code,
    0,
    '-force still reports the failure',
  );
  assert.match(
    (await ns.ip(['-4', 'route', 'show', 'table', '7302'])).stdout,
    /unreachable default/,
    'but runs the rest',
  );
});

test('a route dump of a table that does not exist fails with ENOENT, IPv4 and IPv6 alike (our dumps read it as empty)', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  for (const fam of ['-4', '-6']) {
    const r = await ns.ip([fam, 'route', 'show', 'table', '7399'], { check: false });
    assert.notEqual(r.code, 0, fam);
    assert.match(r.stderr, /FIB table does not exist/, fam);
  }
});

test('fib_triestat shows main and local as one merged trie until the first policy rule', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  await ns.ip(['route', 'add', 'blackhole', '10.7.0.0/16']);
  const read = async () => parseFibTriestat((await ns.exec(['cat', '/proc/net/fib_triestat'])).stdout);
  const merged = await read();
  assert.equal(merged['254'], merged['255'], 'merged: the same numbers under both headings');
  await ns.ip(['rule', 'add', 'priority', '100', 'from', '10.8.0.0/16', 'lookup', '100']);
  const split = await read();
  assert.notEqual(split['254'], split['255']);
  assert.equal(split['254'], 1, 'main alone holds the one route');
});

test('nft: `fib daddr oifname` is a string, not an ifname, so it cannot look up a named ifname set (one notrack rule per proxy)', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  const table = (match: string) =>
    `table inet t {\n  set p { type ifname; elements = { "dod-x" }; }\n  chain c {\n    type filter hook prerouting priority -300;\n    ${match} notrack\n  }\n}\n`;
  const bad = await ns.exec(['nft', '-c', '-f', lab.tempFile('nft', table('fib daddr oifname @p'))], { check: false });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /datatype mismatch/);
  assert.equal(
    (await ns.exec(['nft', '-c', '-f', lab.tempFile('nft', table('fib daddr oifname "dod-x"'))], { check: false }))
      .code,
    0,
  );
});

test('nft 1.0.6 JSON refuses the set flag "dynamic"; a set a rule updates gets it anyway', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  const batch = (flags: string[]) =>
    JSON.stringify({
      nftables: [
        { add: { table: { family: 'inet', name: 't' } } },
        { add: { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags, timeout: 60 } } },
        {
          add: {
            chain: { family: 'inet', table: 't', name: 'c', type: 'filter', hook: 'output', prio: 0, policy: 'accept' },
          },
        },
        {
          add: {
            rule: {
              family: 'inet',
              table: 't',
              chain: 'c',
              expr: [{ set: { op: 'update', elem: { payload: { protocol: 'ip', field: 'daddr' } }, set: '@s' } }],
            },
          },
        },
      ],
    });
  const refused = await ns.exec(['nft', '-j', '-f', lab.tempFile('json', batch(['dynamic', 'timeout']))], {
    check: false,
  });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Invalid set flag/);
  await ns.exec(['nft', '-j', '-f', lab.tempFile('json', batch(['timeout']))]);
  assert.match((await ns.exec(['nft', 'list', 'set', 'inet', 't', 's'])).stdout, /flags dynamic,timeout/);
});

test('rebuilding a table (add, delete, add in one batch) empties its dynamic sets (hence in-place updates and carry-over)', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  const ruleset =
    'table inet t {\n  set s { type ipv4_addr; flags dynamic,timeout; timeout 60s; }\n  chain c {\n    type filter hook output priority 0;\n    update @s { ip daddr }\n  }\n}\n';
  await ns.nft(ruleset);
  await ns.exec(['ping', '-c1', '-W1', '127.0.0.1']);
  assert.match((await ns.exec(['nft', 'list', 'set', 'inet', 't', 's'])).stdout, /127\.0\.0\.1/);
  await ns.nft(`table inet t {}\ndelete table inet t\n${ruleset}`);
  assert.doesNotMatch((await ns.exec(['nft', 'list', 'set', 'inet', 't', 's'])).stdout, /127\.0\.0\.1/);
});

test('deleting a primary IPv4 address deletes its secondaries unless promote_secondaries=1 (set on DHCP uplinks)', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  await ns.ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await ns.ip(['link', 'set', 'v0', 'up']);
  const renumber = async () => {
    await ns.ip(['addr', 'add', '198.51.100.2/24', 'dev', 'v0']);
    await ns.ip(['addr', 'add', '198.51.100.5/24', 'dev', 'v0']); // the new lease, a secondary
    await ns.ip(['addr', 'del', '198.51.100.2/24', 'dev', 'v0']);
    return (await ns.ip(['-4', 'addr', 'show', 'dev', 'v0'])).stdout;
  };
  assert.doesNotMatch(await renumber(), /198\.51\.100\.5/, 'the new address went with the old one');
  await ns.sysctl('net.ipv4.conf.v0.promote_secondaries', 1);
  assert.match(await renumber(), /198\.51\.100\.5\/24/, 'promoted instead');
});

test('a route replace is announced as one new route: the route it replaced goes unannounced', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  await ns.ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await ns.ip(['link', 'set', 'v0', 'up']);
  await ns.ip(['link', 'set', 'v1', 'up']);
  await ns.ip(['addr', 'add', '198.51.100.2/24', 'dev', 'v0']);
  await ns.ip(['route', 'add', 'default', 'via', '198.51.100.1', 'table', '7301', 'metric', '10']);
  const mon = ns.spawn('ip', ['monitor', 'route']);
  await new Promise((r) => setTimeout(r, 300));
  await ns.ip(['route', 'replace', 'default', 'via', '198.51.100.9', 'table', '7301', 'metric', '10']);
  await mon.waitForLine(/198\.51\.100\.9/, { timeoutMs: 3000 });
  await new Promise((r) => setTimeout(r, 300));
  const seen = mon.lines().join('\n');
  assert.doesNotMatch(seen, /Deleted/, `no delete announced: ${seen}`);
  assert.doesNotMatch((await ns.ip(['route', 'show', 'table', '7301'])).stdout, /198\.51\.100\.1 /);
});

test('rp_filter (also loose) looks the source up with the destination as `from`: a `from <prefix>` rule to an unreachable route drops traffic into the prefix (so fallback drop is a firewall rule)', async (t) => {
  const lab = await labForTest(t);
  // isp 10.1.0.2 (a far client 10.2.0.2 behind it) ── wan0 gw (rp_filter 2, the Debian default) dmz0 ── 10.9.0.0/24
  const [isp, gw, srv] = await Promise.all([lab.ns('isp'), lab.ns('gw', { forwarding: true }), lab.ns('srv')]);
  await lab.veth(gw, 'wan0', isp, 'down', { aAddr: '10.1.0.1/24', bAddr: '10.1.0.2/24' });
  await lab.veth(gw, 'dmz0', srv, 'eth0', { aAddr: '10.9.0.1/24', bAddr: '10.9.0.2/24' });
  await gw.ip(['route', 'add', 'default', 'via', '10.1.0.2']);
  await gw.ip(['rule', 'add', 'priority', '100', 'from', '10.9.0.0/24', 'lookup', '100']);
  // `ip route get … iif` runs the kernel's input path for a packet arriving on wan0, reverse-path
  // check included, and nothing else (no reply that could take the same rule).
  const inbound = () => gw.ip(['route', 'get', '10.9.0.2', 'from', '10.2.0.2', 'iif', 'wan0'], { check: false });
  const open = await inbound();
  assert.equal(open.code, 0, open.stderr);
  assert.match(open.stdout, /dev dmz0/, 'an empty table falls through: the reverse path is found in main');
  await gw.ip(['route', 'add', 'unreachable', 'default', 'table', '100']);
  const shut = await inbound();
  assert.notEqual(shut.code, 0, 'with an unreachable route the inbound packet is a martian');
  assert.match(shut.stderr, /Invalid argument/);
  // The reverse lookup's input interface is the packet's output interface: a rule for traffic
  // coming from the prefix (`iif dmz0`) catches it too.
  await gw.ip(['rule', 'add', 'priority', '50', 'iif', 'dmz0', 'lookup', 'main']);
  assert.equal((await inbound()).code, 0, 'the iif dmz0 rule answered the reverse lookup');
});

test('`ip netns exec` mounts a fresh /sys that hides every cgroup mount (so the lab mounts cgroup2 again for its daemons)', async (t) => {
  if (!/ - cgroup2 /.test(readFileSync('/proc/self/mountinfo', 'utf8'))) return t.skip('no cgroup v2 on this host');
  const lab = await labForTest(t);
  const ns = await lab.ns('a');
  const inside = (await ns.exec(['cat', '/proc/self/mountinfo'])).stdout;
  assert.doesNotMatch(inside, / - cgroup2? /, 'no cgroup hierarchy inside');
  // With the host's own super options: cgroup2 has one superblock, other options would change the host's.
  const opts = cgroup2SuperOptions()!;
  const remounted = await ns.exec([
    'sh',
    '-c',
    `mount -t cgroup2 -o ${opts} cgroup2 /sys/fs/cgroup && cat /proc/self/mountinfo`,
  ]);
  assert.match(remounted.stdout, / \/sys\/fs\/cgroup rw[^ ]* - cgroup2 /, 'mountable again, privately');
  assert.match(readFileSync('/proc/self/mountinfo', 'utf8'), / - cgroup2 /, "the host's mount is untouched");
});
