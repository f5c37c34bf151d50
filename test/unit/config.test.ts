/** Valid configs, defaults, loading from files, and the JSON Schema export. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConfigText, loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { resolveProbe, PROBE_PROFILES } from '../../src/config/probe.js';
import { portRange } from '../../src/config/schema-sections.js';
import { UplinkError } from '../../src/errors.js';

const example = (name: string): string => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));

test('examples/full.yaml (every section) parses', async () => {
  const cfg = await loadConfigFile(example('full.yaml'));
  assert.equal(cfg.control.socket, '/run/uplinkd/uplinkd.sock');
  assert.equal(cfg.control.http.listen, '127.0.0.1:8377');
  assert.equal(cfg.defaults.manage, false);
  assert.deepEqual(Object.keys(cfg.uplinks), ['fiber', 'dsl']);
  const fiber = cfg.uplinks.fiber!;
  assert.equal(fiber.interface, 'eth0');
  assert.equal(fiber.priority, 10);
  assert.deepEqual(fiber.probe, {
    profile: 'fast',
    method: 'icmp',
    targets: ['198.51.100.1', '203.0.113.10'],
    reliability: 1,
    interval: 200,
    timeout: 150,
    down_after: 3,
    up_after: 5,
  });
  const dsl = cfg.uplinks.dsl!;
  assert.equal(dsl.mode, 'demand');
  assert.equal(dsl.idle, 300_000);
  assert.deepEqual(dsl.redial, { retries: 5, backoff: 10_000, max_backoff: 600_000, holdoff: 30_000, min_interval: 0 });
  assert.deepEqual(cfg.lan, [
    { interface: 'eth1', zone: 'lan' },
    { interface: 'eth2', zone: 'dmz', routed: ['203.0.113.64/27'], via: ['fiber'], fallback: 'masquerade' },
  ]);
  assert.deepEqual(cfg.firewall.forward, [{ proto: 'tcp', port: 80, to: '203.0.113.70' }]);
  assert.equal(cfg.firewall.input[0]?.port, 22);
  assert.deepEqual(cfg.forwards, [{ proto: 'tcp', port: 80, to: '192.168.2.10:80' }]);
  assert.equal(cfg.demand.rules.length, 3);
  assert.equal(cfg.jobs.vpn?.restart, 'always');
  assert.deepEqual(cfg.hooks, { dir: '/etc/uplinkd/hooks.d', timeout: 30_000 });
  assert.equal(cfg.schedule[0]?.uplink, 'dsl');
  assert.match(cfg.announce[0]?.dyndns?.url ?? '', /myip=\{address\}$/);
  assert.equal(cfg.notify[0]?.mail?.to, 'admin@example.org');
  assert.equal(cfg.secrets, '/etc/uplinkd/secrets.yaml');
});

test('examples/lab.yaml parses', async () => {
  const cfg = await loadConfigFile(example('lab.yaml'));
  assert.equal(cfg.control.socket, '/run/uplinkd-lab/uplinkd.sock');
  assert.equal(cfg.control.state_dir, '/var/lib/uplinkd-lab');
  assert.deepEqual(
    Object.entries(cfg.uplinks).map(([n, u]) => [n, u.interface, u.mode, u.priority]),
    [
      ['wan1', 'wan1', 'always', 10],
      ['wan2', 'wan2', 'backup', 20],
    ],
  );
  assert.deepEqual(cfg.lan, [{ interface: 'lan0', zone: 'lan' }]);
});

const DEFAULTS: Config = {
  control: {
    socket: '/run/uplinkd/uplinkd.sock',
    state_dir: '/var/lib/uplinkd',
    run_dir: '/run/uplinkd',
    http: { enabled: true, listen: '127.0.0.1:8377', exposed: false },
    kernel: {
      route_protocol: 201,
      table_base: 7300,
      table_count: 64,
      rule_priority_base: 7300,
      rule_priority_count: 100,
      fwmark: 0x740000,
      fwmark_mask: 0xff0000,
    },
    netlink_buffer: 8388608,
    carrier_poll: 5,
  },
  defaults: { manage: false },
  uplinks: {},
  lan: [],
  forwards: [],
  firewall: { input: [], forward: [], mss_clamp: true },
  demand: { rules: [], queue: { max_bytes: 2 * 1024 * 1024, max_age: 30_000 } },
  jobs: {},
  hooks: { dir: '/etc/uplinkd/hooks.d', timeout: 30_000 },
  schedule: [],
  announce: [],
  notify: [],
};

const VALID: { name: string; yaml: string; check: (c: Config) => void }[] = [
  { name: 'empty file', yaml: '', check: (c) => assert.deepEqual(c, DEFAULTS) },
  { name: 'only comments', yaml: '# nothing yet\n', check: (c) => assert.deepEqual(c, DEFAULTS) },
  {
    name: 'empty sections mean defaults',
    yaml: 'uplinks:\nlan:\ncontrol:\n',
    check: (c) => assert.deepEqual(c, DEFAULTS),
  },
  {
    name: 'uplink defaults',
    yaml: 'uplinks:\n  a: { interface: eth0 }\n',
    check: (c) =>
      assert.deepEqual(c.uplinks.a, {
        interface: 'eth0',
        mode: 'always',
        priority: 100,
        failback_delay: 10_000,
        quality: { failure_loss: 20, recovery_loss: 5 },
        redial: { backoff: 10_000, max_backoff: 600_000, holdoff: 30_000, min_interval: 0 },
      }),
  },
  {
    name: 'durations: combos, decimals and the number 0',
    yaml: 'uplinks:\n  a: { interface: ppp0, mode: demand, connect: pon, idle: 1m30s, min_up: 1.5s, failback_delay: 0, max_connect: 1h }\n',
    check: (c) => {
      const a = c.uplinks.a!;
      assert.deepEqual([a.idle, a.min_up, a.failback_delay, a.max_connect], [90_000, 1_500, 0, 3_600_000]);
    },
  },
  {
    name: 'fwmark as YAML hex number and as hex string',
    yaml: 'control:\n  kernel: { fwmark: 0x10000, fwmark_mask: "0xf0000" }\n',
    check: (c) => assert.deepEqual([c.control.kernel.fwmark, c.control.kernel.fwmark_mask], [0x10000, 0xf0000]),
  },
  {
    name: 'probe methods with their target forms',
    yaml: [
      'uplinks:',
      '  a: { interface: eth0, probe: { method: tcp, targets: ["198.51.100.1:443", "[2001:db8::1]:80"], reliability: 2 } }',
      '  b: { interface: eth1, probe: { method: http, targets: ["http://203.0.113.10/health"] } }',
      '  c: { interface: eth2, probe: { method: dns, targets: [198.51.100.53], query: example.org } }',
      '  d: { interface: eth3, gateway: "2001:db8::1", probe: { targets: ["2001:db8::2"] } }',
      '',
    ].join('\n'),
    check: (c) => assert.equal(Object.keys(c.uplinks).length, 4),
  },
  {
    name: 'defaults.probe targets are checked with the uplink method',
    yaml: 'defaults:\n  probe: { method: tcp, targets: ["198.51.100.1:443"] }\nuplinks:\n  a: { interface: eth0 }\n',
    check: (c) => assert.equal(c.defaults.probe?.method, 'tcp'),
  },
  {
    name: 'forwards with ranges, uplink lists, zones and sources',
    yaml: [
      'uplinks: { a: { interface: eth0 }, b: { interface: eth1 } }',
      'lan: [ { interface: eth2, zone: lan } ]',
      'forwards:',
      '  - { proto: udp, port: "8000-8100", to: 192.168.2.10, uplink: [a, b], zone: lan, from: [198.51.100.0/24, "2001:db8::/32"] }',
      '',
    ].join('\n'),
    check: (c) => assert.deepEqual(portRange(c.forwards[0]!.port), { first: 8000, last: 8100 }),
  },
  {
    name: 'jobs, schedule, notify, timezone',
    yaml: [
      'uplinks: { dsl: { interface: ppp0 } }',
      'jobs: { vpn: { run: openvpn x.conf } }',
      'schedule: [ { cron: "@daily", action: unforce }, { cron: "0 7 * * mon-fri", action: force, uplink: dsl } ]',
      'notify: [ { events: ["*"], webhook: { url: "https://hooks.example.net/x" } } ]',
      'timezone: Europe/Berlin',
      '',
    ].join('\n'),
    check: (c) => {
      assert.deepEqual(c.jobs.vpn, {
        run: 'openvpn x.conf',
        restart: 'on-failure',
        restart_delay: 1000,
        max_restart_delay: 60_000,
        max_restarts: 5,
        restart_window: 60_000,
        restart_on: [],
        stop_timeout: 10_000,
      });
      assert.equal(c.timezone, 'Europe/Berlin');
    },
  },
  {
    name: 'YAML anchors and merge keys',
    yaml: 'uplinks:\n  a: &base { interface: eth0, priority: 5 }\n  b: { <<: *base, interface: eth1 }\n',
    check: (c) => assert.deepEqual([c.uplinks.b?.interface, c.uplinks.b?.priority], ['eth1', 5]),
  },
];

for (const v of VALID) {
  test(`valid config: ${v.name}`, () => v.check(parseConfigText(v.yaml, 'uplinkd.yaml')));
}

test('checkConfigText returns the config and no problems for a valid file', () => {
  const r = checkConfigText('uplinks: { a: { interface: eth0 } }\n', 'x.yaml');
  assert.deepEqual(r.problems, []);
  assert.equal(r.config?.uplinks.a?.interface, 'eth0');
});

test('configSchema parses plain objects too (cross-checks included)', () => {
  const ok = configSchema.safeParse({ uplinks: { a: { interface: 'eth0', probe: { interval: '2s' } } } });
  assert.ok(ok.success);
  assert.equal(ok.data.uplinks.a?.probe?.interval, 2000);
  const bad = configSchema.safeParse({ uplinks: { a: { interface: 'eth0' }, b: { interface: 'eth0' } } });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues[0]?.path, ['uplinks', 'b', 'interface']);
});

test('loadConfigFile: a missing file is CONFIG_READ with a hint', async () => {
  await assert.rejects(loadConfigFile('/nonexistent/uplinkd.yaml'), (e: unknown) => {
    assert.ok(e instanceof UplinkError && !(e instanceof ConfigError));
    assert.equal(e.code, 'CONFIG_READ');
    assert.match(e.message, /ENOENT/);
    assert.match(e.hint ?? '', /--config/);
    return true;
  });
});

test('loadConfigFile: an invalid file is a ConfigError naming the path as given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'uplinkd-config-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'uplinks:\n  a: { interface: eth0, mode: demand }\n');
    await assert.rejects(loadConfigFile(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems[0]?.file, file);
      assert.ok(e.message.startsWith(`${file}:2:31 uplinks.a.mode: mode demand needs a connect command`), e.message);
      assert.deepEqual(Object.keys(e.toJSON()), ['code', 'message', 'hint', 'problems']);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resolveProbe: no probe section means icmp to the gateway at the normal profile', () => {
  const p = resolveProbe(undefined, undefined, '198.51.100.1');
  assert.equal(p.method, 'icmp');
  assert.deepEqual(p.targets, ['198.51.100.1']);
  assert.equal(p.interval, PROBE_PROFILES.normal.interval);
  assert.deepEqual(resolveProbe(undefined, undefined).targets, []);
});

test('resolveProbe: uplink keys override defaults.probe, which overrides the profile', () => {
  const p = resolveProbe(
    { profile: 'frugal', timeout: 3000 },
    { method: 'tcp', targets: ['192.0.2.1:443'], timeout: 1000 },
  );
  assert.equal(p.method, 'tcp');
  assert.deepEqual(p.targets, ['192.0.2.1:443']);
  assert.equal(p.timeout, 3000);
  assert.equal(p.interval, PROBE_PROFILES.frugal.interval);
  assert.deepEqual(p.recheck, [2000, 4000, 8000]);
});

test('the instant profile is BFD-class (3 × 50 ms); its explicit keys still override, timeout may equal interval', () => {
  const p = resolveProbe({ profile: 'instant' }, undefined, '198.51.100.1');
  assert.deepEqual([p.interval, p.timeout, p.down_after], [50, 50, 3]);
  assert.equal(resolveProbe({ profile: 'instant', down_after: 5 }, undefined).down_after, 5);
  const cfg = parseConfigText(
    'uplinks:\n  wan1: { interface: wan1, probe: { profile: instant, interval: 40ms, timeout: 40ms } }\n',
    'x.yaml',
  );
  assert.equal(cfg.uplinks.wan1!.probe?.timeout, 40);
});

test('configJsonSchema: draft 2020-12, input form, documented', () => {
  const s = configJsonSchema() as {
    $schema: string;
    properties: Record<string, { description?: string; properties?: Record<string, unknown> }>;
    additionalProperties: boolean;
  };
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.ok(s.properties.uplinks);
  assert.deepEqual(Object.keys(s.properties), [
    'control',
    'defaults',
    'uplinks',
    'lan',
    'forwards',
    'firewall',
    'demand',
    'jobs',
    'hooks',
    'schedule',
    'announce',
    'notify',
    'secrets',
    'timezone',
  ]);
  assert.equal(s.additionalProperties, false);
  const uplink = (s.properties.uplinks as { additionalProperties: { properties: Record<string, unknown> } })
    .additionalProperties;
  const interval = (uplink.properties.probe as { properties: Record<string, unknown> }).properties.interval;
  assert.match(JSON.stringify(interval), /"type":"string"/, 'durations are strings in the input form');
  assert.match(s.properties.notify?.description ?? '', /docs\/notify.md/);
  assert.ok(JSON.stringify(s).length > 1000);
});

test('every object field in the JSON schema carries a description', () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.properties && typeof n.properties === 'object') {
      for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
        if (typeof v.description !== 'string') missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    }
    for (const key of ['additionalProperties', 'items'])
      if (n[key]) walk(n[key], `${path}.${key === 'items' ? '[]' : '*'}`);
    for (const key of ['anyOf', 'oneOf']) if (Array.isArray(n[key])) for (const x of n[key] as unknown[]) walk(x, path);
  };
  walk(configJsonSchema(), '');
  assert.deepEqual(missing, []);
});
