/** Following a job's output file: new lines only (not what was there before), partial lines held, cut back past its cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followFile } from '../../src/system/follow.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('followFile: lines appended after it starts, whole lines only, and the file cut back past maxBytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'vpn.log');
  writeFileSync(file, 'from before the restart\n');
  const got: string[] = [];
  const f = followFile(file, (lines) => got.push(...lines), { maxBytes: 200, pollMs: 10 });
  appendFileSync(file, 'one\ntw');
  await wait(50);
  assert.deepEqual(got, ['one']);
  appendFileSync(file, 'o\n');
  await wait(50);
  assert.deepEqual(got, ['one', 'two']);
  appendFileSync(file, `${'x'.repeat(250)}\n`);
  await wait(50);
  assert.equal(got.length, 3);
  assert.equal(statSync(file).size, 0, 'cut back');
  appendFileSync(file, 'after the cut\n');
  await wait(50);
  assert.equal(got.at(-1), 'after the cut');
  f.close();
});
