/**
 * Probe primitives for real, in namespaces (needs root). The Prober must run inside a
 * namespace, so it lives in a child process (probe-child.js) started with
 * `ip netns exec`; the test talks to it in JSON lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labForTest, waitFor, type Ns, type NsProcess } from '../../src/lab/harness.js';
import type { ProbeRequest, ProbeResult } from '../../src/system/probe/types.js';

const CHILD = fileURLToPath(new URL('./probe-child.js', import.meta.url));
const MARK = 0x740000;
const REJECT =
  'table inet f {\n chain in { type filter hook input priority 0; icmp type echo-request reject with icmp type host-unreachable; icmpv6 type echo-request reject with icmpv6 type addr-unreachable; }\n}\n';

interface Answer {
  result: ProbeResult;
  elapsedMs: number;
}

/** A Prober running in a namespace. */
class ProbeChild {
  private id = 0;
  private constructor(
    readonly proc: NsProcess,
    readonly icmpMode: string,
  ) {}

  static async start(ns: Ns, args: string[] = []): Promise<ProbeChild> {
    const proc = ns.spawn(process.execPath, [CHILD, 'probe', ...args], { stdin: 'pipe' });
    const m = await proc.waitForLine(/^\{"ready":true.*$/, { stream: 'stdout' });
    return new ProbeChild(proc, (JSON.parse(m[0]) as { icmpMode: string }).icmpMode);
  }

  async send<T>(msg: object): Promise<T> {
    const id = ++this.id;
    this.proc.child.stdin!.write(`${JSON.stringify({ id, ...msg })}\n`);
    const m = await this.proc.waitForLine(new RegExp(`^\\{"id":${id},.*$`), { stream: 'stdout', timeoutMs: 20_000 });
    return JSON.parse(m[0]) as T;
  }

  probe(req: ProbeRequest): Promise<Answer> {
    return this.send<Answer>({ req });
  }

  async batch(reqs: ProbeRequest[]): Promise<ProbeResult[]> {
    return (await this.send<{ results: ProbeResult[] }>({ reqs })).results;
  }

  async mode(): Promise<string> {
    return (await this.send<{ icmpMode: string }>({ cmd: 'mode' })).icmpMode;
  }

  /** prober.stop(), after which the process must exit on its own (nothing left holding it). */
  async stopAndExit(): Promise<void> {
    await this.send({ cmd: 'stop' });
    const exit = await Promise.race([this.proc.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000))]);
    assert.deepEqual(exit, { code: 0, signal: null }, 'process exits by itself after stop()');
  }

  logs(): string {
    return this.proc.lines('stderr').join('\n');
  }
}

const ok = (a: Answer, what: string) => {
  assert.equal(a.result.ok, true, `${what}: ${JSON.stringify(a)}`);
  assert.ok(
    typeof a.result.rttMs === 'number' && a.result.rttMs > 0 && a.result.rttMs < 1000,
    `${what}: rtt ${a.result.rttMs}`,
  );
  return a.result.rttMs;
};
const fails = (a: Answer, what: string, error: RegExp, withinMs?: number) => {
  assert.equal(a.result.ok, false, `${what}: ${JSON.stringify(a)}`);
  assert.match(a.result.error ?? '', error, what);
  if (withinMs !== undefined) assert.ok(a.elapsedMs < withinMs, `${what}: took ${a.elapsedMs} ms`);
};

/** Packets counted by the single `counter` of a chain. */
async function counted(ns: Ns, family: string, table: string, chain: string): Promise<number> {
  const { stdout } = await ns.exec(['nft', '-j', 'list', 'chain', family, table, chain]);
  const rules = (JSON.parse(stdout) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] })
    .nftables;
  let n = 0;
  for (const r of rules) for (const e of r.rule?.expr ?? []) n += e.counter?.packets ?? 0;
  return n;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) =>
  `n=${xs.length} min ${Math.min(...xs).toFixed(3)} median ${median(xs).toFixed(3)} max ${Math.max(...xs).toFixed(3)} ms`;

/** a (prober) ── veth ── b (servers): 192.0.2.1/24 ↔ 192.0.2.2/24, 2001:db8::1/64 ↔ 2001:db8::2/64. */
async function pair(t: Parameters<typeof labForTest>[0]) {
  const lab = await labForTest(t);
  const a = await lab.ns('a');
  const b = await lab.ns('b');
  await lab.veth(a, 'va', b, 'vb', { aAddr: '192.0.2.1/24', bAddr: '192.0.2.2/24' });
  await a.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'va', 'nodad']);
  await b.ip(['addr', 'add', '2001:db8::2/64', 'dev', 'vb', 'nodad']);
  const servers = b.spawn(process.execPath, [CHILD, 'serve']);
  await servers.waitForLine(/^"serving"$/);
  return { lab, a, b };
}

test('icmp probes: rtt on v4 and v6, ping_group_range, timeout, errors, mark, raw fallback', async (t) => {
  const { a, b } = await pair(t);
  const rtts: number[] = [];

  // A fresh namespace refuses ICMP datagram sockets even to root.
  assert.equal(await a.sysctlGet('net.ipv4.ping_group_range'), '1\t0');
  const p = await ProbeChild.start(a);
  assert.equal(p.icmpMode, 'dgram');
  assert.equal(await a.sysctlGet('net.ipv4.ping_group_range'), '0\t0', 'widened for our gid');
  assert.match(
    p.logs(),
    /"icmpMode":"dgram".*widened net\.ipv4\.ping_group_range from \\"1 0\\" to \\"0 0\\".*"msg":"icmp probes use datagram sockets"/,
  );

  for (let i = 0; i < 10; i++) {
    rtts.push(ok(await p.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 1000 }), 'icmp v4')!);
    rtts.push(ok(await p.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 1000 }), 'icmp v6')!);
  }
  ok(
    await p.probe({ method: 'icmp', target: '192.0.2.2', source: '192.0.2.1', timeoutMs: 1000 }),
    'icmp v4 with source',
  );
  ok(
    await p.probe({ method: 'icmp', target: '2001:db8::2', source: '2001:db8::1', device: 'va', timeoutMs: 1000 }),
    'icmp v6 with source and device',
  );

  // Many at once: one worker polls all sockets.
  const many = await p.batch(
    Array.from({ length: 40 }, (_, i) => ({
      method: 'icmp' as const,
      target: i % 2 ? '2001:db8::2' : '192.0.2.2',
      timeoutMs: 1000,
    })),
  );
  assert.ok(
    many.every((r) => r.ok),
    JSON.stringify(many.filter((r) => !r.ok)),
  );

  // A source address that is not ours: refused at bind, at once.
  fails(
    await p.probe({ method: 'icmp', target: '192.0.2.2', source: '192.0.2.77', timeoutMs: 2000 }),
    'bind to absent v4',
    /bind 192\.0\.2\.77: EADDRNOTAVAIL/,
    200,
  );
  fails(
    await p.probe({ method: 'icmp', target: '2001:db8::2', source: '2001:db8::77', timeoutMs: 2000 }),
    'bind to absent v6',
    /EADDRNOTAVAIL/,
    200,
  );

  // b drops echo requests: timeout; a pending probe does not hold up others.
  await b.nft(
    'table inet f {\n chain in { type filter hook input priority 0; icmp type echo-request drop; icmpv6 type echo-request drop; }\n}\n',
  );
  const slow = p.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 400 });
  const slow6 = p.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 400 });
  const fast = await p.probe({ method: 'icmp', target: '192.0.2.1', timeoutMs: 400 }); // itself: not dropped by b
  ok(fast, 'own address while others wait');
  assert.ok(fast.elapsedMs < 100, `not starved: ${fast.elapsedMs} ms`);
  for (const s of [await slow, await slow6]) {
    fails(s, 'dropped echo', /^timeout$/);
    assert.ok(s.elapsedMs >= 390 && s.elapsedMs < 1000, `timed out after ${s.elapsedMs} ms`);
  }

  // b rejects: the ICMP error ends the probe early.
  await b.exec(['nft', 'delete', 'table', 'inet', 'f']);
  await b.nft(REJECT);
  const rej = await p.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 3000 });
  const rej6 = await p.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 3000 });
  fails(rej, 'rejected v4', /EHOSTUNREACH/, 1000);
  fails(rej6, 'rejected v6', /EHOSTUNREACH/, 1000);
  await b.exec(['nft', 'delete', 'table', 'inet', 'f']);

  // SO_MARK: counted by a rule in a's output hook.
  await a.nft(`table inet m {\n chain out { type filter hook output priority 0; meta mark ${MARK} counter; }\n}\n`);
  ok(await p.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 1000 }), 'unmarked');
  assert.equal(await counted(a, 'inet', 'm', 'out'), 0);
  ok(await p.probe({ method: 'icmp', target: '192.0.2.2', mark: MARK, timeoutMs: 1000 }), 'marked v4');
  ok(await p.probe({ method: 'icmp', target: '2001:db8::2', mark: MARK, timeoutMs: 1000 }), 'marked v6');
  assert.equal(await counted(a, 'inet', 'm', 'out'), 2, 'one marked echo request each');

  // Raw fallback: a range that stays closed (no widening allowed).
  await a.sysctl('net.ipv4.ping_group_range', '1 0');
  const raw = await ProbeChild.start(a, ['--no-widen']);
  assert.equal(raw.icmpMode, 'raw');
  assert.match(raw.logs(), /"icmpMode":"raw".*EACCES.*using raw ICMP sockets.*"msg":"icmp probes use raw sockets"/);
  assert.equal(await a.sysctlGet('net.ipv4.ping_group_range'), '1\t0', 'left alone');
  const rawRtts: number[] = [];
  for (let i = 0; i < 10; i++) {
    rawRtts.push(ok(await raw.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 1000 }), 'raw v4')!);
    rawRtts.push(ok(await raw.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 1000 }), 'raw v6')!);
  }
  const rawMany = await raw.batch(
    Array.from({ length: 20 }, (_, i) => ({
      method: 'icmp' as const,
      target: i % 2 ? '2001:db8::2' : '192.0.2.2',
      timeoutMs: 1000,
    })),
  );
  assert.ok(
    rawMany.every((r) => r.ok),
    'concurrent raw probes each find their own reply',
  );
  ok(await raw.probe({ method: 'icmp', target: '192.0.2.2', mark: MARK, timeoutMs: 1000 }), 'raw marked');
  assert.equal(await counted(a, 'inet', 'm', 'out'), 3);
  fails(
    await raw.probe({ method: 'icmp', target: '192.0.2.2', source: '192.0.2.77', timeoutMs: 2000 }),
    'raw bind to absent',
    /EADDRNOTAVAIL/,
    200,
  );
  await b.nft(
    'table inet f {\n chain in { type filter hook input priority 0; icmp type echo-request drop; icmpv6 type echo-request drop; }\n}\n',
  );
  fails(await raw.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 300 }), 'raw dropped', /^timeout$/);
  fails(await raw.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 300 }), 'raw dropped v6', /^timeout$/);
  await b.exec(['nft', 'delete', 'table', 'inet', 'f']);
  await b.nft(REJECT);
  fails(
    await raw.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 3000 }),
    'raw rejected v4',
    /EHOSTUNREACH|unreachable/,
    1000,
  );
  fails(
    await raw.probe({ method: 'icmp', target: '2001:db8::2', timeoutMs: 3000 }),
    'raw rejected v6',
    /EHOSTUNREACH|unreachable/,
    1000,
  );
  await b.exec(['nft', 'delete', 'table', 'inet', 'f']);
  await raw.stopAndExit();

  // The first prober meets EACCES again (someone narrowed the range): it widens again.
  ok(await p.probe({ method: 'icmp', target: '192.0.2.2', timeoutMs: 1000 }), 'dgram after the range was narrowed');
  assert.equal(await p.mode(), 'dgram');
  assert.equal(await a.sysctlGet('net.ipv4.ping_group_range'), '0\t0');
  await p.stopAndExit();

  t.diagnostic(`icmp rtt (dgram, v4+v6): ${fmt(rtts)}`);
  t.diagnostic(`icmp rtt (raw, v4+v6): ${fmt(rawRtts)}`);
});

test('tcp, http and dns probes', async (t) => {
  const { a, b } = await pair(t);
  const p = await ProbeChild.start(a);
  const rtts: Record<string, number[]> = { tcp: [], http: [], dns: [] };

  // tcp: a listener and a refusal both prove reachability.
  for (const target of ['192.0.2.2:8080', '[2001:db8::2]:8080', '192.0.2.2:8081', '[2001:db8::2]:8081']) {
    rtts.tcp!.push(ok(await p.probe({ method: 'tcp', target, timeoutMs: 1000 }), `tcp ${target}`)!);
  }
  ok(
    await p.probe({ method: 'tcp', target: '192.0.2.2:8080', source: '192.0.2.1', mark: MARK, timeoutMs: 1000 }),
    'tcp with source (mark ignored)',
  );
  fails(
    await p.probe({ method: 'tcp', target: '192.0.2.2:8080', source: '192.0.2.77', timeoutMs: 1000 }),
    'tcp bind to absent',
    /EADDRNOTAVAIL/,
    200,
  );

  // http: 2xx/3xx pass, 5xx fails with the status; targets are IPs.
  rtts.http!.push(
    ok(await p.probe({ method: 'http', target: 'http://192.0.2.2:8080/ok', timeoutMs: 1000 }), 'http 200')!,
  );
  rtts.http!.push(
    ok(
      await p.probe({ method: 'http', target: 'http://[2001:db8::2]:8080/ok', source: '2001:db8::1', timeoutMs: 1000 }),
      'http v6 200',
    )!,
  );
  ok(await p.probe({ method: 'http', target: 'http://192.0.2.2:8080/redirect', timeoutMs: 1000 }), 'http 302');
  const e500 = await p.probe({ method: 'http', target: 'http://192.0.2.2:8080/fail', timeoutMs: 1000 });
  fails(e500, 'http 500', /^HTTP 500$/);
  fails(
    await p.probe({ method: 'http', target: 'http://192.0.2.2:8081/', timeoutMs: 1000 }),
    'http refused',
    /ECONNREFUSED/,
    200,
  );
  fails(
    await p.probe({ method: 'http', target: 'http://example.org/', timeoutMs: 1000 }),
    'http by name',
    /probe targets must be IP addresses/,
  );

  // dns: any answer with our id passes.
  for (const [target, query] of [
    ['192.0.2.2', undefined],
    ['2001:db8::2', undefined],
    ['192.0.2.2:53', 'example.org'],
    ['[2001:db8::2]:53', 'example.org'],
  ] as const) {
    rtts.dns!.push(
      ok(await p.probe({ method: 'dns', target, ...(query ? { query } : {}), timeoutMs: 1000 }), `dns ${target}`)!,
    );
  }
  ok(
    await p.probe({ method: 'dns', target: '192.0.2.2', source: '192.0.2.1', device: 'va', timeoutMs: 1000 }),
    'dns with source and device',
  );
  fails(
    await p.probe({ method: 'dns', target: '192.0.2.2:5353', timeoutMs: 2000 }),
    'dns port unreachable',
    /ECONNREFUSED/,
    500,
  );
  fails(await p.probe({ method: 'dns', target: '192.0.2.99', timeoutMs: 300 }), 'dns to nobody', /^timeout$/);
  fails(await p.probe({ method: 'dns', target: '2001:db8::99', timeoutMs: 300 }), 'dns v6 to nobody', /^timeout$/);
  fails(
    await p.probe({ method: 'dns', target: '192.0.2.2', source: '192.0.2.77', timeoutMs: 1000 }),
    'dns bind to absent',
    /EADDRNOTAVAIL/,
    200,
  );

  // dns carries the mark.
  await a.nft(`table inet m {\n chain out { type filter hook output priority 0; meta mark ${MARK} counter; }\n}\n`);
  ok(await p.probe({ method: 'dns', target: '192.0.2.2', mark: MARK, timeoutMs: 1000 }), 'marked dns');
  ok(await p.probe({ method: 'dns', target: '2001:db8::2', mark: MARK, timeoutMs: 1000 }), 'marked dns v6');
  assert.equal(await counted(a, 'inet', 'm', 'out'), 2);

  // b drops everything to its services: timeouts.
  await b.nft(
    'table inet f {\n chain in { type filter hook input priority 0; tcp dport { 8080, 8081 } drop; udp dport 53 drop; }\n}\n',
  );
  for (const req of [
    { method: 'tcp', target: '192.0.2.2:8080' },
    { method: 'tcp', target: '[2001:db8::2]:8081' },
    { method: 'http', target: 'http://192.0.2.2:8080/ok' },
    { method: 'dns', target: '192.0.2.2' },
  ] as const) {
    const r = await p.probe({ ...req, timeoutMs: 300 });
    fails(r, `${req.method} dropped`, /^timeout$/);
    assert.ok(r.elapsedMs >= 290 && r.elapsedMs < 1000, `${req.method} timed out after ${r.elapsedMs} ms`);
  }
  await p.stopAndExit();
  for (const [k, xs] of Object.entries(rtts)) t.diagnostic(`${k} rtt: ${fmt(xs)}`);
});

test('the source address picks the path: policy rule from addr2 lookup 100', async (t) => {
  const lab = await labForTest(t);
  // a ── r1 ──┐
  //  └── r2 ──┴── s (203.0.113.100)
  const a = await lab.ns('a');
  const r1 = await lab.ns('r1', { forwarding: true });
  const r2 = await lab.ns('r2', { forwarding: true });
  const s = await lab.ns('s');
  await lab.veth(a, 'wan1', r1, 'down', { aAddr: '192.0.2.1/24', bAddr: '192.0.2.2/24' });
  await lab.veth(a, 'wan2', r2, 'down', { aAddr: '198.51.100.1/24', bAddr: '198.51.100.2/24' });
  await lab.veth(r1, 'up', s, 'via1', { aAddr: '203.0.113.1/30', bAddr: '203.0.113.2/30' });
  await lab.veth(r2, 'up', s, 'via2', { aAddr: '203.0.113.5/30', bAddr: '203.0.113.6/30' });
  await s.ip(['addr', 'add', '203.0.113.100/32', 'dev', 'lo']);
  await s.ip(['route', 'add', '192.0.2.0/24', 'via', '203.0.113.1']);
  await s.ip(['route', 'add', '198.51.100.0/24', 'via', '203.0.113.5']);
  await r1.ip(['route', 'add', '203.0.113.100/32', 'via', '203.0.113.2']);
  await r2.ip(['route', 'add', '203.0.113.100/32', 'via', '203.0.113.6']);
  // a: main default via r1; uplink 2's table via r2, reached by source address (docs/architecture.md).
  await a.ip(['route', 'add', 'default', 'via', '192.0.2.2']);
  await a.ip(['route', 'add', 'default', 'via', '198.51.100.2', 'dev', 'wan2', 'table', '100']);
  await a.ip(['route', 'add', 'unreachable', 'default', 'metric', '4294967295', 'table', '100']);
  await a.ip(['rule', 'add', 'pref', '90', 'lookup', 'main', 'suppress_prefixlength', '0']);
  await a.ip(['rule', 'add', 'pref', '100', 'from', '198.51.100.1', 'lookup', '100']);
  const servers = s.spawn(process.execPath, [CHILD, 'serve', '203.0.113.100']);
  await servers.waitForLine(/^"serving"$/);
  // Count what crosses each router towards the server.
  for (const r of [r1, r2])
    await r.nft(
      'table inet c {\n chain thru { type filter hook forward priority 0; ip daddr 203.0.113.100 counter; }\n}\n',
    );

  const p = await ProbeChild.start(a);
  const T = '203.0.113.100';
  const probes = (source?: string): ProbeRequest[] =>
    (
      [
        { method: 'icmp', target: T, timeoutMs: 400 },
        { method: 'tcp', target: `${T}:8080`, timeoutMs: 400 },
        { method: 'http', target: `http://${T}:8080/ok`, timeoutMs: 400 },
        { method: 'dns', target: T, timeoutMs: 400 },
      ] satisfies ProbeRequest[]
    ).map((r) => (source ? { ...r, source } : r));

  // Both paths work; without a source the probes go via r1, with addr2 via r2.
  const before = [await counted(r1, 'inet', 'c', 'thru'), await counted(r2, 'inet', 'c', 'thru')];
  for (const req of probes()) ok(await p.probe(req), `${req.method} via main`);
  const mid = [await counted(r1, 'inet', 'c', 'thru'), await counted(r2, 'inet', 'c', 'thru')];
  assert.ok(mid[0]! > before[0]! && mid[1] === before[1], `no source: via r1 only ${JSON.stringify([before, mid])}`);
  for (const req of probes('198.51.100.1')) ok(await p.probe(req), `${req.method} from addr2`);
  const after = [await counted(r1, 'inet', 'c', 'thru'), await counted(r2, 'inet', 'c', 'thru')];
  assert.ok(after[0] === mid[0] && after[1]! > mid[1]!, `source addr2: via r2 only ${JSON.stringify([mid, after])}`);

  // The first path goes dead (carrier still up): only probes from addr2 still pass.
  await r1.nft(
    'table inet f {\n chain thru { type filter hook forward priority -10; ip daddr 203.0.113.100 drop; }\n}\n',
  );
  for (const req of probes()) fails(await p.probe(req), `${req.method} via dead r1`, /^timeout$/);
  for (const req of probes('198.51.100.1')) ok(await p.probe(req), `${req.method} from addr2 via r2`);
  // And the marked ICMP probe from addr2 too (mark and source together).
  ok(
    await p.probe({ method: 'icmp', target: T, source: '198.51.100.1', mark: MARK, timeoutMs: 400 }),
    'marked icmp from addr2',
  );

  // Table 100 loses its route (admin-down flush): the unreachable default stops a fall-through.
  await a.ip(['link', 'set', 'dev', 'wan2', 'down']);
  await waitFor(async () => !(await a.ip(['route', 'show', 'table', '100'])).stdout.includes('198.51.100.2'), {
    what: 'table 100 flushed',
  });
  await r1.exec(['nft', 'delete', 'table', 'inet', 'f']);
  const dead = await p.probe({ method: 'icmp', target: T, source: '198.51.100.1', timeoutMs: 400 });
  fails(dead, 'addr2 must not fall through to r1', /^connect 203\.0\.113\.100: (EHOSTUNREACH|ENETUNREACH)/, 200);
  await p.stopAndExit();
});
