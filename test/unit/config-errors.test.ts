/** The malformed-config corpus: every problem exact to line:column and key path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText, parseConfigText } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/errors.js';
import { BAD } from './config-corpus.js';

test('the corpus has at least 35 malformed configs', () => {
  assert.ok(BAD.length >= 35, `only ${BAD.length}`);
  assert.equal(new Set(BAD.map((c) => c.name)).size, BAD.length, 'case names are unique');
});

for (const c of BAD) {
  test(`bad config: ${c.name}`, () => {
    const { config, problems } = checkConfigText(c.yaml, 'uplinkd.yaml');
    assert.equal(config, undefined);
    const shown = problems.map(formatProblem).join('\n');
    assert.equal(problems.length, c.count ?? 1, `problems:\n${shown}`);
    const p = problems.find((x) => x.path === c.path);
    assert.ok(p, `no problem at path "${c.path}":\n${shown}`);
    assert.equal(p.file, 'uplinkd.yaml');
    assert.deepEqual([p.line, p.column], [c.line, c.column], shown);
    const text = p.hint ? `${p.message} — ${p.hint}` : p.message;
    assert.ok(text.includes(c.has), `"${c.has}" not in: ${text}`);
  });
}

test('a file with 3 distinct errors reports all 3, sorted, in one ConfigError', () => {
  const yaml = [
    'uplinks:',
    '  dsl:',
    '    interface: ppp0',
    '    mode: demand',
    '    probe:',
    '      interval: 5 sec',
    'lan:',
    '  - { interface: eth1, zone: wan }',
    '',
  ].join('\n');
  assert.throws(
    () => parseConfigText(yaml, 'uplinkd.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.deepEqual(
        e.problems.map((p) => `${p.line}:${p.column} ${p.path}`),
        ['4:11 uplinks.dsl.mode', '6:17 uplinks.dsl.probe.interval', '8:30 lan[0].zone'],
      );
      const lines = e.message.split('\n');
      assert.equal(lines.length, 3);
      assert.equal(lines[1], 'uplinkd.yaml:6:17 uplinks.dsl.probe.interval: "5 sec" is not a duration — write 5s');
      assert.match(lines[0]!, /^uplinkd\.yaml:4:11 uplinks\.dsl\.mode: mode demand needs a connect command/);
      assert.match(lines[2]!, /^uplinkd\.yaml:8:30 lan\[0\]\.zone: zone "wan" is reserved/);
      assert.match(e.hint ?? '', /3 problems in uplinkd\.yaml/);
      return true;
    },
  );
});

test('YAML syntax errors and schema problems are reported together', () => {
  const yaml = 'uplinks:\n  dsl: { interface: ppp0, priority: -1 }\nlan: [ { interface: eth1, zone: lan }\n';
  const { problems } = checkConfigText(yaml, 'cfg.yaml');
  const shown = problems.map(formatProblem);
  assert.ok(
    shown.some((s) => s.startsWith('cfg.yaml:2:37 uplinks.dsl.priority: -1 is too small')),
    shown.join('\n'),
  );
  assert.ok(
    shown.some((s) => /^cfg\.yaml:4:1 .*end with a \]/.test(s)),
    shown.join('\n'),
  );
});

test('unknown keys at several depths are each reported at their key', () => {
  const yaml =
    'contrl: {}\nuplinks:\n  a:\n    interface: eth0\n    probe: { methd: icmp }\n    redial: { holdof: 1s }\n';
  const { problems } = checkConfigText(yaml, 'u.yaml');
  assert.deepEqual(
    problems.map((p) => [p.line, p.column, p.path, p.hint]),
    [
      [1, 1, 'contrl', 'did you mean "control"?'],
      [5, 14, 'uplinks.a.probe.methd', 'did you mean "method"?'],
      [6, 15, 'uplinks.a.redial.holdof', 'did you mean "holdoff"?'],
    ],
  );
});

test('several unknown keys in one map give one problem each', () => {
  const { problems } = checkConfigText('hooks: { dir: /h, foo: 1, bar: 2 }\n', 'u.yaml');
  assert.deepEqual(
    problems.map((p) => `${p.column} ${p.path}`),
    ['19 hooks.foo', '27 hooks.bar'],
  );
});

test('the file name is shown as given', () => {
  const { problems } = checkConfigText('timezone: Nowhere/Town\n', '/etc/uplinkd/uplinkd.yaml');
  assert.equal(problems[0]?.file, '/etc/uplinkd/uplinkd.yaml');
  assert.match(formatProblem(problems[0]!), /^\/etc\/uplinkd\/uplinkd\.yaml:1:11 timezone: /);
});

test('a cross-check still runs when another section is broken', () => {
  const yaml =
    'uplinks:\n  a: { interface: eth0, priority: x }\nschedule:\n  - { cron: "0 7 * * *", action: up, uplink: b }\n';
  const { problems } = checkConfigText(yaml, 'u.yaml');
  assert.deepEqual(
    problems.map((p) => p.path),
    ['uplinks.a.priority', 'schedule[0].uplink'],
  );
});
