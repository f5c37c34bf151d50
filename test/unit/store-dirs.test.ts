/** The state store's directories: private ones are made or tightened to 0700; a shared one (RUN_DIR) is left as it is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskStore } from '../../src/system/store.js';

test('store: a shared directory is made 0755 and never tightened; a private one below it is 0700', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'uplinkd-store-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const mode = (p: string) => statSync(p).mode & 0o777;
  const run = join(root, 'run');
  mkdirSync(run, { mode: 0o750 });
  assert.deepEqual(await diskStore.ensureDir(run, { shared: true }), {});
  assert.equal(mode(run), 0o750, 'the socket directory keeps its mode');
  await diskStore.ensureDir(join(run, 'jobs'));
  assert.equal(mode(join(run, 'jobs')), 0o700);
  const fresh = join(root, 'fresh');
  await diskStore.ensureDir(fresh, { shared: true });
  assert.equal(mode(fresh), 0o755 & ~process.umask());
});
