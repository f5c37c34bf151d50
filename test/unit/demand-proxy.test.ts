// One demand proxy's decisions, without a kernel: which packets dial, which are held, when
// they are written back (only once routed AND the link is up), and what status shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { EventBus } from '../../src/events/bus.js';
import { DemandProxy } from '../../src/demand/proxy.js';
import { DEFAULT_RULES, parseRules } from '../../src/config/demand-rules.js';

/** An IPv4 UDP packet to 192.0.2.100:`dport`, tagged with `tag` in its first payload byte. */
function udp(dport: number, tag: number): Buffer {
  const b = Buffer.alloc(29);
  b[0] = 0x45;
  b.writeUInt16BE(29, 2);
  b[8] = 64;
  b[9] = 17;
  Buffer.from([10, 66, 0, 2]).copy(b, 12);
  Buffer.from([192, 0, 2, 100]).copy(b, 16);
  b.writeUInt16BE(40000, 20);
  b.writeUInt16BE(dport, 22);
  b.writeUInt16BE(9, 24);
  b[28] = tag;
  return b;
}

function proxy(o: { enabled?: boolean; linkUp?: boolean } = {}) {
  const state = { wanted: false, linkUp: o.linkUp ?? true, dials: [] as string[], written: [] as Buffer[] };
  const rules = parseRules(DEFAULT_RULES).rules;
  const p = new DemandProxy({
    name: 'dsl',
    iface: 'dod-dsl',
    log: pino({ level: 'silent' }),
    bus: new EventBus(),
    rules: () => rules,
    limits: { maxBytes: 10_000, maxAgeMs: 30_000 },
    dial: (why) => {
      state.dials.push(why);
      state.wanted = true;
    },
    enabled: () => o.enabled ?? true,
    wanted: () => state.wanted,
    linkUp: () => state.linkUp,
  });
  p.tun = {
    name: 'dod-dsl',
    write: (pkts) => (state.written.push(...pkts), pkts.length),
    close: async () => undefined,
  };
  return { p, state };
}

test('NTP is ignored: no dial, not held, counted', () => {
  const { p, state } = proxy();
  p.onPackets([udp(123, 1)]);
  assert.deepEqual(state.dials, []);
  assert.equal(p.view(true).queue.ignored, 1);
  assert.equal(p.queue.size, 0);
});

test('the first matching packet dials once; everything after it is held while dialing; replay in order once routed', async () => {
  const { p, state } = proxy();
  p.onPackets([udp(7000, 1), udp(7000, 2)]);
  p.onPackets([udp(123, 3)]); // while dialing, even NTP is held: it would have flowed
  assert.equal(state.dials.length, 1);
  assert.match(state.dials[0]!, /^udp 10\.66\.0\.2:40000 → 192\.0\.2\.100:7000 .*rule "accept any"/);
  assert.equal(p.view(true).lastTrigger!.rule, 'accept any');
  p.setRouted(false);
  assert.deepEqual(state.written, []);
  p.setRouted(true, 1000);
  assert.deepEqual(
    state.written.map((b) => b[28]),
    [1],
    'the first packet goes alone: on a new link it waits for the neighbour entry, and the next could overtake it',
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    state.written.map((b) => b[28]),
    [1, 2, 3],
  );
  assert.equal(p.view(true).queue.replayed, 3);
  assert.equal(p.view(true).lastReplay?.packets, 3);
});

test('routed but the link has no carrier (deleted under us): nothing is written back, it would loop', () => {
  const { p, state } = proxy({ linkUp: false });
  p.onPackets([udp(7000, 1)]);
  p.setRouted(true);
  assert.deepEqual(state.written, []);
  assert.equal(p.queue.size, 1);
  state.linkUp = true;
  p.setRouted(true);
  assert.deepEqual(
    state.written.map((b) => b[28]),
    [1],
  );
});

test('demand off: traffic does not dial', () => {
  const { p, state } = proxy({ enabled: false });
  p.onPackets([udp(7000, 1)]);
  assert.deepEqual(state.dials, []);
  assert.equal(p.view(false).enabled, false);
});

test('garbage from the TUN is counted, never thrown', () => {
  const { p } = proxy();
  p.onPackets([Buffer.from([0x60, 0, 0]), Buffer.alloc(0)]);
  assert.equal(p.view(true).queue.unparsed, 2);
});

test('no TUN (being reopened): held packets stay held, nothing is lost', () => {
  const { p, state } = proxy();
  const tun = p.tun;
  p.tun = undefined;
  p.onPackets([udp(7000, 1)]);
  p.setRouted(true);
  assert.equal(p.queue.size, 1);
  p.tun = tun;
  p.setRouted(true);
  assert.deepEqual(
    state.written.map((b) => b[28]),
    [1],
  );
  assert.equal(p.view(true).queue.replayFailed, 0);
});
