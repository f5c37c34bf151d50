/**
 * The carrier poll on real sysfs in a namespace (test/lab/carrier-child.ts): one open file
 * per watched interface, read again for each poll; a carrier flip reported once each way; a
 * device made again under the same name is read anew, not through the old file; unwatching
 * closes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { labForTest } from '../../src/lab/harness.js';

const CHILD = fileURLToPath(new URL('./carrier-child.js', import.meta.url));

test('carrier poll: kept-open sysfs files follow flips, admin down, a device made again, unwatch', async (t) => {
  const lab = await labForTest(t);
  const ns = await lab.ns('cp');
  const out = JSON.parse((await ns.exec([process.execPath, CHILD])).stdout) as {
    steps: Record<string, { seen: boolean[]; open: number; polling: boolean }>;
    newIndex: boolean;
  };
  const s = out.steps;
  assert.deepEqual(s.watching, { seen: [], open: 1, polling: true });
  assert.deepEqual(s['peer down']!.seen, [false], 'the carrier loss, once');
  assert.deepEqual(s['peer up']!.seen, [false, true], 'and back, once');
  assert.equal(s['peer up']!.open, 1, 'the same one file all along');
  assert.deepEqual(s['admin down']!.seen, [false, true], 'admin down is netlink’s to tell');
  assert.equal(s['admin up']!.open, 1, 'EINVAL while admin down keeps the file');
  assert.deepEqual(s['admin up']!.seen, [false, true, true], 'carrier back after admin up, read through the kept file');
  assert.ok(out.newIndex, 'the device made again has a new index');
  assert.deepEqual(s['made again']!.seen, [false, true, true, true], 'the new device’s carrier, read anew');
  assert.deepEqual(s.unwatched, { seen: [false, true, true, true], open: 0, polling: false });
});
