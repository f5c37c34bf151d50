/** The carrier poll runs only while started and given interfaces: an idle daemon sleeps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CarrierPoller } from '../../src/system/carrier.js';

test('carrier poll: no interfaces, no timer; watch and stop arm and disarm it', () => {
  const p = new CarrierPoller(
    10,
    () => undefined,
    () => undefined,
  );
  p.start();
  assert.equal(p.polling, false, 'started with nothing to watch');
  p.watch(['wan1']);
  assert.equal(p.polling, true);
  p.watch([]);
  assert.equal(p.polling, false, 'the last fast uplink went');
  p.watch(['wan1']);
  p.stop();
  assert.equal(p.polling, false);
  const off = new CarrierPoller(
    0,
    () => undefined,
    () => undefined,
  );
  off.start();
  off.watch(['wan1']);
  assert.equal(off.polling, false, 'carrier_poll: 0');
});
