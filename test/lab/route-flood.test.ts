/**
 * bench/ingest's producer (src/lab/route-flood.ts): the routes it sends are the ones the
 * kernel holds (the same as test/lab/routes.ts's `ip -batch` floods), adding them again is
 * refused route by route and counted, and a delete takes exactly them away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest } from '../../src/lab/harness.js';
import { routeFlood } from './routes.js';
const N = 3000; // more than one send's worth (~600)

test('route-flood adds, refuses again and deletes N routes in a foreign table', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const flood = async (op?: 'del') => {
    const out = await routeFlood(gw, N, 100, op);
    assert.ok(out.seconds > 0, 'it times itself');
    return out;
  };

  const table = async () =>
    (await gw.ipJson<{ dst: string; type: string; protocol: string }[]>(['route', 'show', 'table', '100'])).map(
      (r) => `${r.type} ${r.dst} ${r.protocol}`,
    );

  const added = await flood();
  assert.deepEqual([added.routes, added.errors], [N, 0]);
  const held = await table();
  assert.equal(held.length, N);
  assert.equal(held[0], 'blackhole 10.0.0.0 static');
  assert.ok(held.includes(`blackhole 10.0.${((N - 1) >> 8) & 255}.${(N - 1) & 255} static`), 'the last route is there');

  const again = await flood();
  assert.equal(again.errors, N, 'each route already there is refused');
  assert.match(again.firstError ?? '', /exists/i);

  const deleted = await flood('del');
  assert.deepEqual([deleted.routes, deleted.errors], [N, 0]);
  assert.deepEqual(await table(), []);
});
