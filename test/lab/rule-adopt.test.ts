/**
 * A rule of ours that the kernel already has, unknown to the world (a restart that raced its
 * dump): adding it answers EEXIST. That is adoption, not an error: nothing is refused, nothing
 * is logged, and the world learns the rule from the answer, so the next run does not add it
 * again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { labForTest } from '../../src/lab/harness.js';

const CHILD = fileURLToPath(new URL('./rule-adopt-child.js', import.meta.url));

test('rule add answered EEXIST: adopted quietly, and the world learns the rule', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  await gw.ip(['-4', 'rule', 'add', 'priority', '7390', 'lookup', '7300', 'protocol', '201']);
  const r = await gw.exec([process.execPath, CHILD]);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error?: string; rules: { priority: number }[] };
  assert.equal(out.error, undefined, 'not refused');
  assert.ok(
    out.rules.some((x) => x.priority === 7390),
    `the world was told: ${JSON.stringify(out.rules)}`,
  );
  const rules = (await gw.ip(['-4', 'rule', 'show', 'priority', '7390'])).stdout.trim().split('\n');
  assert.equal(rules.length, 1, 'still one rule');
});
