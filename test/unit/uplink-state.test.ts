/**
 * The uplink state machine (src/uplinks/state.ts), table-driven with literal inputs.
 * Pins docs/uplinks.md: usable = up, degraded, or adopted and not yet
 * judged; demand/command uplinks are selectable once verifying; an uplink that lost carrier is
 * never usable; hysteresis never delays leaving a dead uplink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, isUsable, type CheckInput, type UplinkState } from '../../src/uplinks/state.js';

// Thresholds used by every case: down_after 3, up_after 2, loss 20 % / 5 %, latency 300 / 150 ms.
const T = {
  downAfter: 3,
  upAfter: 2,
  failureLossPct: 20,
  recoveryLossPct: 5,
  failureLatencyMs: 300,
  recoveryLatencyMs: 150,
};
// An interface uplink with carrier, address and gateway, ten passing rounds, no loss.
const BASE: CheckInput = {
  prev: 'up',
  driver: 'interface',
  adminDown: false,
  running: false,
  holdoff: false,
  present: true,
  carrier: true,
  hasAddress: true,
  hasGateway: true,
  health: { rounds: 10, passStreak: 10, failStreak: 0, lossPct: 0, avgRttMs: 20 },
  t: T,
};

interface CheckCase {
  name: string;
  in: Partial<CheckInput>;
  want: { state: UplinkState; reason?: string };
  todo?: string;
}

const checkCases: CheckCase[] = [
  // Admin and blocking come first, whatever the link and probes say.
  {
    name: 'admin down → disabled, even with a healthy link',
    in: { adminDown: true },
    want: { state: 'disabled', reason: 'taken down by the admin' },
  },
  {
    name: 'admin down wins over blocked',
    in: { adminDown: true, blocked: 'blocked by the admin' },
    want: { state: 'disabled', reason: 'taken down by the admin' },
  },
  {
    name: 'admin down, command driver not running → disabled',
    in: { adminDown: true, driver: 'command', running: false, holdoff: true },
    want: { state: 'disabled', reason: 'taken down by the admin' },
  },
  {
    name: 'blocked by the admin → blocked, even with a healthy link',
    in: { blocked: 'blocked by the admin' },
    want: { state: 'blocked', reason: 'blocked by the admin' },
  },
  {
    name: 'gave up re-dialling → blocked, with the give-up reason',
    in: {
      driver: 'command',
      running: false,
      holdoff: false,
      present: false,
      carrier: false,
      hasAddress: false,
      hasGateway: false,
      blocked: 'gave up after 3 failed dial(s); last: connect process exited with 1',
    },
    want: { state: 'blocked', reason: 'gave up after 3 failed dial(s); last: connect process exited with 1' },
  },
  {
    name: 'blocked wins over holdoff',
    in: { driver: 'command', running: false, holdoff: true, blocked: 'blocked by the admin' },
    want: { state: 'blocked', reason: 'blocked by the admin' },
  },

  // Command driver: not running → down or holdoff; running but no link yet → connecting.
  {
    name: 'command, not running, no holdoff → down',
    in: {
      driver: 'command',
      running: false,
      holdoff: false,
      present: false,
      carrier: false,
      hasAddress: false,
      hasGateway: false,
      health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 },
    },
    want: { state: 'down', reason: 'not connected' },
  },
  {
    name: 'command, not running, holdoff → holdoff',
    in: {
      driver: 'command',
      running: false,
      holdoff: true,
      present: false,
      carrier: false,
      hasAddress: false,
      hasGateway: false,
    },
    want: { state: 'holdoff', reason: 'waiting before the next dial' },
  },
  {
    name: 'command, not running, link still there with passing probes → down',
    in: { driver: 'command', running: false, holdoff: false },
    want: { state: 'down', reason: 'not connected' },
  },
  {
    name: 'command, running, interface absent → connecting',
    in: {
      driver: 'command',
      running: true,
      present: false,
      carrier: false,
      hasAddress: false,
      hasGateway: false,
      prev: 'down',
      health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 },
    },
    want: { state: 'connecting', reason: 'interface absent' },
  },
  {
    name: 'command, running, no carrier → connecting',
    in: { driver: 'command', running: true, carrier: false, hasAddress: false, hasGateway: false, prev: 'connecting' },
    want: { state: 'connecting', reason: 'no carrier' },
  },
  {
    name: 'command, running, carrier but no address → connecting',
    in: { driver: 'command', running: true, hasAddress: false, hasGateway: false, prev: 'connecting' },
    want: { state: 'connecting', reason: 'no address' },
  },
  {
    name: 'command, running, address but no gateway → connecting',
    in: { driver: 'command', running: true, hasGateway: false, prev: 'connecting' },
    want: { state: 'connecting', reason: 'no gateway known' },
  },
  {
    name: 'command, running, link complete, not probed yet → verifying',
    in: {
      driver: 'command',
      running: true,
      prev: 'connecting',
      health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 },
    },
    want: { state: 'verifying', reason: 'waiting for the first probe round' },
  },

  // Interface driver: link facts.
  {
    name: 'interface absent → down',
    in: { present: false, carrier: false, hasAddress: false, hasGateway: false },
    want: { state: 'down', reason: 'interface absent' },
  },
  {
    name: 'no carrier → down, even with passing probes and prev up',
    in: { carrier: false },
    want: { state: 'down', reason: 'no carrier' },
  },
  {
    name: 'no carrier → down, even with holdoff/running flags (ignored for interfaces)',
    in: { carrier: false, running: true, holdoff: true },
    want: { state: 'down', reason: 'no carrier' },
  },
  {
    name: 'no address → down',
    in: { hasAddress: false, hasGateway: false },
    want: { state: 'down', reason: 'no address' },
  },
  { name: 'no gateway → down', in: { hasGateway: false }, want: { state: 'down', reason: 'no gateway known' } },

  // Failing probes: down_after failed rounds is enough, whatever came before.
  {
    name: 'up, failStreak = down_after → failed at once',
    in: { prev: 'up', health: { rounds: 20, passStreak: 0, failStreak: 3, lossPct: 15, avgRttMs: 20 } },
    want: { state: 'failed', reason: '3 probe rounds failed' },
  },
  {
    name: 'degraded, failStreak > down_after → failed',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 0, failStreak: 4, lossPct: 40 } },
    want: { state: 'failed', reason: '4 probe rounds failed' },
  },
  {
    name: 'verifying, failStreak = down_after → failed',
    in: { prev: 'verifying', health: { rounds: 3, passStreak: 0, failStreak: 3, lossPct: 100 } },
    want: { state: 'failed', reason: '3 probe rounds failed' },
  },
  {
    name: 'up, failStreak = down_after - 1, loss within failure limit → still up',
    in: { prev: 'up', health: { rounds: 20, passStreak: 0, failStreak: 2, lossPct: 10, avgRttMs: 20 } },
    want: { state: 'up' },
  },

  // Recovering from failed: up_after good rounds first.
  {
    name: 'failed, 0 good rounds → failed',
    in: { prev: 'failed', health: { rounds: 20, passStreak: 0, failStreak: 1, lossPct: 50 } },
    want: { state: 'failed', reason: 'recovering: 0/2 good rounds' },
  },
  {
    name: 'failed, 1 of up_after=2 good rounds → failed',
    in: { prev: 'failed', health: { rounds: 20, passStreak: 1, failStreak: 0, lossPct: 0, avgRttMs: 20 } },
    want: { state: 'failed', reason: 'recovering: 1/2 good rounds' },
  },
  {
    name: 'failed, up_after good rounds, no loss → up',
    in: { prev: 'failed', health: { rounds: 20, passStreak: 2, failStreak: 0, lossPct: 0, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (2 in a row)' },
  },
  {
    name: 'failed, up_after good rounds, loss above recovery limit → degraded',
    in: { prev: 'failed', health: { rounds: 20, passStreak: 2, failStreak: 0, lossPct: 10, avgRttMs: 20 } },
    want: { state: 'degraded', reason: 'loss 10%' },
  },

  // Verifying until the first pass.
  {
    name: 'no rounds judged yet → verifying',
    in: { prev: 'down', health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 } },
    want: { state: 'verifying', reason: 'waiting for the first probe round' },
  },
  {
    name: 'link reappeared after up, no rounds yet → verifying',
    in: { prev: 'up', health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 } },
    want: { state: 'verifying', reason: 'waiting for the first probe round' },
  },
  {
    name: 'verifying, one failed round (< down_after) → verifying',
    in: { prev: 'verifying', health: { rounds: 1, passStreak: 0, failStreak: 1, lossPct: 100 } },
    want: { state: 'verifying', reason: 'waiting for the first probe round' },
  },
  {
    name: 'verifying, two failed rounds (< down_after) → verifying',
    in: { prev: 'verifying', health: { rounds: 2, passStreak: 0, failStreak: 2, lossPct: 100 } },
    want: { state: 'verifying', reason: 'waiting for the first probe round' },
  },
  {
    name: 'verifying, first pass, no loss → up',
    in: { prev: 'verifying', health: { rounds: 1, passStreak: 1, failStreak: 0, lossPct: 0, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (1 in a row)' },
  },
  {
    name: 'verifying, first pass, loss at the recovery limit → up',
    in: { prev: 'verifying', health: { rounds: 20, passStreak: 1, failStreak: 0, lossPct: 5, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (1 in a row)' },
  },
  {
    name: 'verifying, first pass, loss far above the failure limit → degraded',
    in: { prev: 'verifying', health: { rounds: 3, passStreak: 1, failStreak: 0, lossPct: 66.7, avgRttMs: 20 } },
    want: { state: 'degraded', reason: 'loss 67%' },
  },
  {
    name: 'verifying, first pass, loss between recovery and failure limits → degraded (not up)',
    in: { prev: 'verifying', health: { rounds: 20, passStreak: 1, failStreak: 0, lossPct: 10, avgRttMs: 20 } },
    want: { state: 'degraded', reason: 'loss 10%' },
  },

  // Quality: loss.
  {
    name: 'up, loss above the failure limit → degraded',
    in: { prev: 'up', health: { rounds: 20, passStreak: 1, failStreak: 0, lossPct: 25, avgRttMs: 20 } },
    want: { state: 'degraded', reason: 'loss 25%' },
  },
  {
    name: 'up, loss at the failure limit → up',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 20, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'up, loss between the limits → stays up',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 10, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'degraded, loss between the limits → stays degraded',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 10, avgRttMs: 20 } },
    want: { state: 'degraded', reason: 'loss 10%' },
  },
  {
    name: 'degraded, loss at the recovery limit → up',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 5, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'degraded, no loss → up',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 8, failStreak: 0, lossPct: 0, avgRttMs: 20 } },
    want: { state: 'up', reason: 'probes pass (8 in a row)' },
  },

  // Quality: latency.
  {
    name: 'up, RTT above the failure latency → degraded',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 350 } },
    want: { state: 'degraded', reason: 'latency 350.0 ms' },
  },
  {
    name: 'up, RTT at the failure latency → up',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 300 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'up, RTT between the latency limits → stays up',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 200 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'degraded, RTT between the latency limits → stays degraded',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 200 } },
    want: { state: 'degraded', reason: 'latency 200.0 ms' },
  },
  {
    name: 'degraded, RTT at the recovery latency → up',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 150 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'failed → recovered with RTT above the recovery latency → degraded',
    in: { prev: 'failed', health: { rounds: 20, passStreak: 2, failStreak: 0, lossPct: 0, avgRttMs: 200 } },
    want: { state: 'degraded', reason: 'latency 200.0 ms' },
  },
  {
    name: 'verifying, first pass, RTT between the latency limits → degraded (not up)',
    in: { prev: 'verifying', health: { rounds: 1, passStreak: 1, failStreak: 0, lossPct: 0, avgRttMs: 200 } },
    want: { state: 'degraded', reason: 'latency 200.0 ms' },
  },
  {
    name: 'no latency thresholds → any RTT is fine',
    in: {
      prev: 'up',
      t: { downAfter: 3, upAfter: 2, failureLossPct: 20, recoveryLossPct: 5 },
      health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0, avgRttMs: 5000 },
    },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'no RTT measured → latency not judged',
    in: { prev: 'degraded', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 0 } },
    want: { state: 'up', reason: 'probes pass (5 in a row)' },
  },
  {
    name: 'loss and latency both poor → loss is the reason',
    in: { prev: 'up', health: { rounds: 20, passStreak: 5, failStreak: 0, lossPct: 30, avgRttMs: 400 } },
    want: { state: 'degraded', reason: 'loss 30%' },
  },
  // A link that went away after carrying traffic (carrier flap) comes back like a failed one.
  {
    name: 'link back after a carrier loss, 1 good round of 2 → verifying, not up',
    in: { prev: 'down', returning: true, health: { rounds: 1, passStreak: 1, failStreak: 0, lossPct: 0 } },
    want: { state: 'verifying', reason: 'link back: 1/2 good rounds' },
  },
  {
    name: 'link back after a carrier loss, up_after good rounds → up',
    in: { prev: 'verifying', returning: true, health: { rounds: 2, passStreak: 2, failStreak: 0, lossPct: 0 } },
    want: { state: 'up' },
  },
  {
    name: 'link back, failing → failed at once (hysteresis never delays leaving)',
    in: { prev: 'verifying', returning: true, health: { rounds: 3, passStreak: 0, failStreak: 3, lossPct: 100 } },
    want: { state: 'failed' },
  },
  {
    name: 'a new link (not returning): the first good round is enough',
    in: { prev: 'verifying', health: { rounds: 1, passStreak: 1, failStreak: 0, lossPct: 0 } },
    want: { state: 'up' },
  },
  {
    name: 'a DHCP uplink without a lease (an IPv6 address, no gateway) → down: no DHCP lease',
    in: { hasGateway: false, waitingFor: 'no DHCP lease' },
    want: { state: 'down', reason: 'no DHCP lease' },
  },
  {
    name: 'a DHCP uplink whose IPv6 works without a lease → judged by its probes',
    in: { waitingFor: 'no DHCP lease' },
    want: { state: 'up' },
  },
  // Probes to the gateway leave by the connected route: they prove the link, not the table.
  {
    name: 'probes pass but the table has no default route → down, with the table named',
    in: { noTableRoute: 'no default route in table 7301' },
    want: { state: 'down', reason: 'no default route in table 7301' },
  },
  {
    name: 'no table route, command driver → connecting',
    in: { driver: 'command', running: true, noTableRoute: 'no default route in table 7303' },
    want: { state: 'connecting', reason: 'no default route in table 7303' },
  },
  {
    name: 'no table route before the first round (routes on their way in) → verifying',
    in: {
      prev: 'down',
      noTableRoute: 'no default route in table 7301',
      health: { rounds: 0, passStreak: 0, failStreak: 0, lossPct: 0 },
    },
    want: { state: 'verifying' },
  },
];

for (const c of checkCases) {
  test(`check: ${c.name}`, c.todo ? { todo: c.todo } : {}, () => {
    const v = check({ ...BASE, ...c.in });
    assert.equal(v.state, c.want.state);
    if (c.want.reason !== undefined) assert.equal(v.reason, c.want.reason);
  });
}

interface UsableCase {
  state: UplinkState;
  adopted: boolean;
  driver: 'interface' | 'command';
  mode: string;
  want: boolean;
}

const usableCases: UsableCase[] = [
  { state: 'up', adopted: false, driver: 'interface', mode: 'always', want: true },
  { state: 'up', adopted: false, driver: 'command', mode: 'backup', want: true },
  { state: 'degraded', adopted: false, driver: 'interface', mode: 'always', want: true },
  { state: 'degraded', adopted: false, driver: 'command', mode: 'demand', want: true },
  // Verifying: only adopted, command or demand uplinks.
  { state: 'verifying', adopted: false, driver: 'interface', mode: 'always', want: false },
  { state: 'verifying', adopted: false, driver: 'interface', mode: 'backup', want: false },
  { state: 'verifying', adopted: false, driver: 'interface', mode: 'manual', want: false },
  { state: 'verifying', adopted: true, driver: 'interface', mode: 'always', want: true },
  { state: 'verifying', adopted: false, driver: 'command', mode: 'always', want: true },
  { state: 'verifying', adopted: false, driver: 'command', mode: 'demand', want: true },
  { state: 'verifying', adopted: false, driver: 'interface', mode: 'demand', want: true },
  // Never usable: failed, down (e.g. lost carrier), and the rest — adopted or not.
  { state: 'failed', adopted: false, driver: 'interface', mode: 'always', want: false },
  { state: 'failed', adopted: true, driver: 'command', mode: 'demand', want: false },
  { state: 'down', adopted: false, driver: 'interface', mode: 'always', want: false },
  { state: 'down', adopted: true, driver: 'interface', mode: 'always', want: false },
  { state: 'down', adopted: false, driver: 'command', mode: 'demand', want: false },
  { state: 'connecting', adopted: false, driver: 'command', mode: 'always', want: false },
  { state: 'holdoff', adopted: false, driver: 'command', mode: 'always', want: false },
  { state: 'blocked', adopted: true, driver: 'command', mode: 'always', want: false },
  { state: 'disabled', adopted: true, driver: 'interface', mode: 'always', want: false },
];

for (const c of usableCases) {
  test(`isUsable: ${c.state}, ${c.adopted ? 'adopted' : 'not adopted'}, ${c.driver}, ${c.mode} → ${c.want}`, () => {
    assert.equal(isUsable(c.state, { adopted: c.adopted, driver: c.driver, mode: c.mode }), c.want);
  });
}
