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

test('followFile paused: no reads until resume, then everything written meanwhile; pause reads once more', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hooks.log');
  writeFileSync(file, 'old news\n');
  const got: string[] = [];
  const f = followFile(file, (lines) => got.push(...lines), { maxBytes: 1000, pollMs: 10, paused: true });
  appendFileSync(file, 'written while paused\n');
  await wait(50);
  assert.deepEqual(got, [], 'a paused follower does not poll');
  f.resume();
  assert.deepEqual(got, ['written while paused'], 'resume reads at once, from where it was opened');
  appendFileSync(file, 'while running\n');
  await wait(50);
  assert.deepEqual(got.at(-1), 'while running');
  appendFileSync(file, 'last words\n');
  f.pause();
  assert.equal(got.at(-1), 'last words', 'pause reads what is there first');
  appendFileSync(file, 'late\n');
  await wait(50);
  assert.equal(got.at(-1), 'last words');
  f.close();
  assert.equal(got.at(-1), 'late', 'close reads the rest');
});
