/** Job conditions: the parser (columns and hints for bad ones) and the pure evaluator, table-driven. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CondError, parseCondition } from '../../src/config/condition.js';
import { evaluate, type CondState } from '../../src/jobs/condition-eval.js';

const STATE: CondState = {
  selected: 'fiber',
  uplinks: new Map([
    ['fiber', { up: true, state: 'up', address: '198.51.100.2' }],
    ['lte', { up: true, state: 'degraded', address: '10.64.3.9' }],
    ['dsl', { up: false, state: 'down' }],
  ]),
  jobs: new Map([
    ['vpn', true],
    ['backup', false],
  ]),
  addresses: (iface) => (iface === 'ppp0' ? ['10.64.3.9', '2001:db8:7::9'] : []),
};

/** [condition, true or false in STATE, why]. */
const GOOD: [string, boolean, string][] = [
  ['default.up', true, 'default.up is true'],
  ['default.uplink == "fiber"', true, 'default.uplink == "fiber" is true (it is "fiber")'],
  ["default.uplink != 'fiber'", false, 'default.uplink != "fiber" is false (it is "fiber")'],
  ['default.uplink == lte', false, 'default.uplink == "lte" is false (it is "fiber")'],
  ['uplink.lte.up', true, 'uplink.lte.up is true'],
  ['uplink.dsl.up', false, 'uplink.dsl.up is false'],
  ['uplink.lte.state == "degraded"', true, 'uplink.lte.state == "degraded" is true (it is "degraded")'],
  ['uplink.fiber.selected', true, 'uplink.fiber.selected is true'],
  ['uplink.lte.selected', false, 'uplink.lte.selected is false'],
  ['job.vpn.running', true, 'job.vpn.running is true'],
  ['job.backup.running', false, 'job.backup.running is false'],
  ['address(ppp0) in 10.64.0.0/10', true, 'address(ppp0) in 10.64.0.0/10 is true'],
  ['address(ppp0) in 2001:db8::/32', true, 'address(ppp0) in 2001:db8::/32 is true'],
  ['address(eth9) in 10.0.0.0/8', false, 'address(eth9) in 10.0.0.0/8 is false'],
  ['default.address == "198.51.100.2"', true, 'default.address == "198.51.100.2" is true (it is "198.51.100.2")'],
  ['uplink.dsl.address == none', true, 'uplink.dsl.address == "none" is true (it is "none")'],
  ['default.up and uplink.dsl.up', false, 'uplink.dsl.up is false'],
  ['uplink.dsl.up or uplink.lte.up', true, 'uplink.lte.up is true'],
  ['uplink.dsl.up or job.backup.running', false, 'uplink.dsl.up is false; job.backup.running is false'],
  ['not uplink.dsl.up', true, 'uplink.dsl.up is false'],
  ['not (uplink.dsl.up or uplink.lte.up)', false, 'uplink.lte.up is true'],
  [
    'default.up and not (uplink.lte.selected or uplink.dsl.up)',
    true,
    'default.up is true; uplink.lte.selected is false; uplink.dsl.up is false',
  ],
  ['  default.up  ', true, 'default.up is true'],
];

for (const [text, ok, why] of GOOD) {
  test(`condition: ${text}`, () => {
    const r = evaluate(parseCondition(text), STATE);
    assert.deepEqual(r, { ok, why });
  });
}

test('condition: nothing selected — default.up is false, default.uplink is "none"', () => {
  const s = { ...STATE, selected: undefined };
  assert.equal(evaluate(parseCondition('default.up'), s).ok, false);
  assert.equal(evaluate(parseCondition('default.uplink == none'), s).ok, true);
});

/** [condition, column, message part, hint part]. */
const BAD: [string, number, string, string][] = [
  ['', 1, 'a condition is missing', 'default.up'],
  ['default.upp', 1, '"default.upp" is unknown', 'default fields'],
  ['uplink.fiber.upp', 14, 'uplink field "upp" is unknown', 'up, selected, state, address'],
  ['job.vpn.run', 9, 'job field "run" is unknown', 'running'],
  ['fiber.up', 1, '"fiber.up" is not a condition', 'uplink.NAME.up'],
  ['default.up and', 15, 'a condition is missing', ''],
  ['default.up or or', 15, '"or" cannot start a condition', ''],
  ['(default.up', 12, '")" expected', 'close the parenthesis'],
  ['default.up)', 11, 'unexpected ")"', 'and / or'],
  ['default.uplink', 15, 'default.uplink is a value: compare it', 'default.uplink == "fiber"'],
  ['default.uplink = "fiber"', 16, '"=" is not an operator', '=='],
  ['default.uplink == ', 19, 'a value to compare with is missing', ''],
  ['default.up == "x"', 12, 'default.up is true or false, not a value', 'not default.up'],
  ['default.uplink == "fiber', 19, 'the string is not closed', '"'],
  ['address(ppp0) 10.0.0.0/8', 15, '"in" expected', 'address(IFACE) in CIDR'],
  ['address(ppp0) in 10.0.0.0', 18, 'is not a CIDR', ''],
  ['default.up && uplink.lte.up', 12, 'unexpected "&"', 'and, or, not'],
  ['default.up uplink.lte.up', 12, 'unexpected "uplink.lte.up"', 'join conditions with and / or'],
];

for (const [text, column, message, hint] of BAD) {
  test(`bad condition: ${JSON.stringify(text)}`, () => {
    assert.throws(
      () => parseCondition(text),
      (e: unknown) => {
        assert.ok(e instanceof CondError, String(e));
        assert.equal(e.column, column, e.message);
        assert.ok(e.message.includes(message), e.message);
        assert.ok((e.hint ?? '').includes(hint), e.hint);
        return true;
      },
    );
  });
}
