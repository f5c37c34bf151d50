import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { diffRulesets } from '../../src/firewall/diff.js';

const base =
  'uplinks:\n  wan1: { interface: wan1 }\nlan:\n  - { interface: lan0, zone: lan }\nforwards:\n  - { proto: tcp, port: 80, to: "10.0.0.2:80" }\n';
const cfg = (t: string) => parseConfigText(t, 't.yaml');

test('diffRulesets: table-driven', () => {
  const cases: { name: string; from?: string; to: string; added: RegExp[]; removed: RegExp[] }[] = [
    { name: 'same config → nothing', from: base, to: base, added: [], removed: [] },
    {
      name: 'a new forward changes the maps only',
      from: base,
      to: `${base}  - { proto: tcp, port: 443, to: "10.0.0.2:443" }\n`,
      added: [/^map fwd4_tcp: \[\[80,"10\.0\.0\.2"\],\[443,"10\.0\.0\.2"\]\]$/, /^map fwd4_tcp_port: /],
      removed: [/^map fwd4_tcp: \[\[80,"10\.0\.0\.2"\]\]$/, /^map fwd4_tcp_port: /],
    },
    {
      name: 'firewall turned off → everything removed',
      from: base,
      to: `${base}firewall: { enabled: false }\n`,
      added: [],
      removed: [/^table uplinkd$/, /^chain forward \(forward hook\)$/],
    },
    {
      name: 'from nothing → everything added',
      to: base,
      added: [/^table uplinkd$/, /^rule in nat_post: masquerade/],
      removed: [],
    },
  ];
  for (const c of cases) {
    const d = diffRulesets(c.from ? cfg(c.from) : undefined, cfg(c.to));
    for (const re of c.added)
      assert.ok(
        d.added.some((l) => re.test(l)),
        `${c.name}: added ${re}\n${d.added.join('\n')}`,
      );
    for (const re of c.removed)
      assert.ok(
        d.removed.some((l) => re.test(l)),
        `${c.name}: removed ${re}\n${d.removed.join('\n')}`,
      );
    if (!c.added.length) assert.deepEqual(d.added, [], c.name);
    if (!c.removed.length) assert.deepEqual(d.removed, [], c.name);
  }
  const forward = diffRulesets(cfg(base), cfg(`${base}  - { proto: tcp, port: 443, to: "10.0.0.2:443" }\n`));
  assert.deepEqual(
    forward.added.map((l) => l.split(':')[0]),
    ['map fwd4_tcp', 'map fwd4_tcp_port', 'rule in nat_pre'],
    'the two maps and the comment (count) of the one rule that uses them; nothing else',
  );
});
