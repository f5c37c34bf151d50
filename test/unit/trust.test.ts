/** Which files may run as root (system/trust.ts), on real files in a private temp directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookFiles, programProblem } from '../../src/system/trust.js';
import { lookupId } from '../../src/system/supervise/run.js';

test('trust: owner-only files under a sticky /tmp are fine; writable files or directories are refused, named', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'uplinkd-trust-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'hooks.d');
  mkdirSync(dir, { mode: 0o755 });
  const file = (name: string, mode: number) => {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), mode);
  };
  file('10-ok', 0o755);
  file('20-writable', 0o777);
  file('30-not-executable', 0o644);
  file('40-backup.dpkg-old', 0o755);
  symlinkSync(join(dir, '20-writable'), join(dir, '50-link'));
  assert.deepEqual(
    hookFiles(dir).map((h) => [h.path.slice(dir.length + 1), h.problem?.replace(dir, 'DIR') ?? 'ok']),
    [
      ['10-ok', 'ok'],
      ['20-writable', 'refused: DIR/20-writable is writable by others'],
      ['50-link', 'refused: DIR/20-writable is writable by others'],
    ],
  );
  chmodSync(dir, 0o775);
  assert.deepEqual(
    hookFiles(dir).map((h) => h.problem?.replace(dir, 'DIR')),
    ['refused: DIR is writable by its group'],
  );
  assert.equal(programProblem(join(dir, 'nope')), undefined, 'a missing program fails at exec, visibly');
  assert.equal(programProblem(join(dir, '20-writable')), `${join(dir, '20-writable')} is writable by others`);
  assert.equal(programProblem('sh'), undefined, 'found through PATH, root-owned');
  assert.equal(programProblem('$VPN'), undefined, "the shell's business");
});

test('trust: a link in a directory others may write is refused even when it points at a root file; a missing hooks dir is no hook', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'uplinkd-trust-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const open = join(root, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  symlinkSync('/bin/true', join(open, 'tool'));
  assert.equal(programProblem(join(open, 'tool')), `${open} is writable by others`);
  assert.equal(programProblem('tool', { path: open }), `${open} is writable by others`, 'found through the job PATH');
  assert.deepEqual(hookFiles(join(root, 'none')), []);
});

test('lookupId: a numeric user takes its passwd group; names as before', () => {
  assert.deepEqual(lookupId('/etc/passwd', '0'), { id: 0, gid: 0 });
  assert.deepEqual(lookupId('/etc/passwd', 'root'), { id: 0, gid: 0 });
  assert.deepEqual(lookupId('/etc/passwd', '4242424'), { id: 4242424 }, 'no entry: no group (the spawn then refuses)');
});
