import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus, type DaemonEvent } from '../../src/events/bus.js';
import { Firewall } from '../../src/firewall/apply.js';
import { firewallEnabled, firewallInput } from '../../src/firewall/input.js';
import { FakeSystem } from '../../src/system/fake.js';

const CONFIG = `uplinks:
  wan1: { interface: wan1 }
lan:
  - { interface: lan0, zone: lan }
forwards:
  - { proto: tcp, port: 8080, to: "10.77.0.2:80" }
`;

function setup(text = CONFIG, addrs: string[] = []) {
  const system = new FakeSystem();
  let config = parseConfigText(text, 't.yaml');
  const bus = new EventBus();
  const events: DaemonEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const fw = new Firewall({ system, log: pino({ level: 'silent' }), bus, config: () => config });
  // What the reconcile loop's desired() hands the firewall on each run.
  const ensure = () => fw.ensure(firewallEnabled(config) ? firewallInput(config, 0, [...addrs]) : undefined);
  return { system, fw, ensure, events, addrs, set: (t: string) => (config = parseConfigText(t, 't.yaml')) };
}

test('the firewall applies only when the rendering changes', async () => {
  const { system, fw, ensure, set } = setup();
  await ensure();
  await ensure();
  assert.equal(system.ruleset.batches.length, 1, 'the second run applied nothing');
  assert.equal(fw.status().generation, 1);
  set(CONFIG.replace('8080', '8081'));
  await ensure();
  assert.equal(system.ruleset.batches.length, 2);
  assert.equal(fw.status().generation, 2);
});

test('a new uplink address updates the hairpin set in place: no rebuild, no new generation (demand sets keep their flows)', async () => {
  const { system, fw, ensure, addrs } = setup();
  await ensure();
  const table = system.ruleset.table;
  addrs.push('198.51.100.2');
  await ensure();
  assert.equal(system.ruleset.batches.length, 2);
  assert.deepEqual(system.ruleset.batches[1], {
    nftables: [
      { flush: { set: { family: 'inet', table: 'uplinkd', name: 'wan_addrs4' } } },
      { add: { element: { family: 'inet', table: 'uplinkd', name: 'wan_addrs4', elem: ['198.51.100.2'] } } },
    ],
  });
  assert.equal(fw.status().generation, 1, 'the table was not rebuilt');
  assert.equal(system.ruleset.table, table);
  await ensure();
  assert.equal(system.ruleset.batches.length, 2, 'nothing again while the address stays');
});

test("a ruleset nft rejects is refused: check() throws with nft's message, ensure() keeps the running generation", async () => {
  const { system, fw, ensure, events } = setup();
  await ensure();
  system.nftReject = 'Error: conflicting intervals specified';
  await assert.rejects(fw.check(parseConfigText(CONFIG.replace('8080', '9090'), 't.yaml')), /conflicting intervals/);
  assert.equal(fw.status().generation, 1);
  assert.equal(system.ruleset.batches.length, 1);
  assert.ok(!events.some((e) => e.type === 'firewall' && !e.ok), 'a refused check is no failed apply');
});

test('the firewall is on with a lan, forwards or input opens, or when enabled; off otherwise (and then our table goes)', async () => {
  const cases: [string, boolean][] = [
    ['uplinks:\n  wan1: { interface: wan1 }\n', false],
    [CONFIG, true],
    [
      'uplinks:\n  wan1: { interface: wan1 }\nfirewall: { input: [{ proto: tcp, port: 22, from: [192.0.2.0/24] }] }\n',
      true,
    ],
    ['uplinks:\n  wan1: { interface: wan1 }\nfirewall: { enabled: true }\n', true],
    [`${CONFIG}firewall: { enabled: false }\n`, false],
  ];
  for (const [text, on] of cases) assert.equal(firewallEnabled(parseConfigText(text, 't.yaml')), on, text);
  const { system, ensure, set } = setup();
  await ensure();
  assert.ok(system.ruleset.table);
  set('uplinks:\n  wan1: { interface: wan1 }\n');
  await ensure();
  assert.equal(system.ruleset.table, undefined, 'table removed when the firewall is turned off');
});

test("another table's drop policy on forward is reported once the ruleset is applied", async () => {
  const { system, ensure, events } = setup();
  system.foreignChains = [
    { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', policy: 'drop', prio: 0 },
    { family: 'ip', table: 'filter', name: 'OUTPUT', hook: 'output', policy: 'accept', prio: 0 },
  ];
  await ensure();
  const warnings = events.filter((e) => e.type === 'firewall' && e.message.startsWith('warning'));
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0].type === 'firewall' ? warnings[0].message : '',
    /chain FORWARD of table ip filter has policy drop on the forward hook/,
  );
});
