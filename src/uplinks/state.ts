/**
 * The uplink state machine: one pure check() decides the state from what is
 * observed now. States are never stored as intentions: a restarted daemon
 * recomputes them from the same facts.
 */
import type { UplinkState } from '../model/uplink-states.js';

export type { UplinkState } from '../model/uplink-states.js';

export interface HealthFacts {
  /** Probe rounds judged since the link (re)appeared. */
  rounds: number;
  passStreak: number;
  failStreak: number;
  /** Loss over the statistics window, percent. */
  lossPct: number;
  avgRttMs?: number;
}

export interface Thresholds {
  downAfter: number;
  upAfter: number;
  failureLossPct: number;
  recoveryLossPct: number;
  failureLatencyMs?: number;
  recoveryLatencyMs?: number;
}

export interface CheckInput {
  prev: UplinkState;
  driver: 'interface' | 'command';
  adminDown: boolean;
  blocked?: string;
  /** Command driver: the connect process is running. */
  running: boolean;
  holdoff: boolean;
  present: boolean;
  carrier: boolean;
  hasAddress: boolean;
  /** What the uplink waits for when it has no (IPv4) address or gateway, when known: `no DHCP lease`. */
  waitingFor?: string;
  hasGateway: boolean;
  health: HealthFacts;
  t: Thresholds;
  /** The link went away after carrying traffic and is back: up only after up_after good rounds. */
  returning?: boolean;
  /**
   * Set when no family with a gateway has its default route in the uplink's own table (the
   * reason, `no default route in table N`): probes may pass, the uplink carries nothing.
   */
  noTableRoute?: string;
}

export interface Verdict {
  state: UplinkState;
  reason: string;
}

function linkVerdict(i: CheckInput): Verdict | undefined {
  if (i.driver === 'command' && !i.running)
    return i.holdoff
      ? { state: 'holdoff', reason: 'waiting before the next dial' }
      : { state: 'down', reason: 'not connected' };
  const waiting = i.driver === 'command' ? 'connecting' : 'down';
  if (!i.present) return { state: waiting, reason: 'interface absent' };
  if (!i.carrier) return { state: waiting, reason: 'no carrier' };
  if (i.waitingFor && (!i.hasAddress || !i.hasGateway)) return { state: waiting, reason: i.waitingFor };
  if (!i.hasAddress) return { state: waiting, reason: 'no address' };
  if (!i.hasGateway) return { state: waiting, reason: 'no gateway known' };
  return undefined;
}

/**
 * Quality (mwan3's check_quality): an uplink that is up stays up until it crosses
 * the failure limits; any other uplink must be within the recovery limits to be
 * up, so a lossy link coming back cannot flap between up and degraded.
 */
function poorQuality(h: HealthFacts, t: Thresholds, wasUp: boolean): string | undefined {
  const lossLimit = wasUp ? t.failureLossPct : t.recoveryLossPct;
  if (h.lossPct > lossLimit) return `loss ${h.lossPct.toFixed(0)}%`;
  const rttLimit = wasUp ? t.failureLatencyMs : t.recoveryLatencyMs;
  if (rttLimit !== undefined && h.avgRttMs !== undefined && h.avgRttMs > rttLimit)
    return `latency ${h.avgRttMs.toFixed(1)} ms`;
  return undefined;
}

export function check(i: CheckInput): Verdict {
  if (i.adminDown) return { state: 'disabled', reason: 'taken down by the admin' };
  if (i.blocked) return { state: 'blocked', reason: i.blocked };
  const link = linkVerdict(i);
  if (link) return link;
  const { health: h, t } = i;
  // Before the first round our routes may still be on their way in; after it they must be there.
  if (i.noTableRoute && h.rounds > 0)
    return { state: i.driver === 'command' ? 'connecting' : 'down', reason: i.noTableRoute };
  // Hysteresis never delays leaving: down_after failed rounds is enough, whatever came before.
  if (h.failStreak >= t.downAfter) return { state: 'failed', reason: `${h.failStreak} probe rounds failed` };
  if (i.prev === 'failed' && h.passStreak < t.upAfter)
    return { state: 'failed', reason: `recovering: ${h.passStreak}/${t.upAfter} good rounds` };
  if (i.returning && h.passStreak < t.upAfter)
    return { state: 'verifying', reason: `link back: ${h.passStreak}/${t.upAfter} good rounds` };
  if (h.rounds === 0 || (h.passStreak === 0 && i.prev === 'verifying'))
    // Probes wait for the table's route (probeReady): say so rather than just "waiting".
    return { state: 'verifying', reason: i.noTableRoute ?? 'waiting for the first probe round' };
  const poor = poorQuality(h, t, i.prev === 'up');
  if (poor) return { state: 'degraded', reason: poor };
  if (h.passStreak === 0)
    return { state: 'up', reason: `last probe round failed (${h.failStreak}/${t.downAfter} before failed)` };
  return { state: 'up', reason: `probes pass (${h.passStreak} in a row)` };
}

/** docs/uplinks.md: usable = up, degraded, or adopted at start and not yet judged; a command uplink is selectable once verifying. */
export function isUsable(
  state: UplinkState,
  o: { adopted: boolean; driver: 'interface' | 'command'; mode: string },
): boolean {
  if (state === 'up' || state === 'degraded') return true;
  return state === 'verifying' && (o.adopted || o.driver === 'command' || o.mode === 'demand');
}
