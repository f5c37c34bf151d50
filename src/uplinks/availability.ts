/**
 * Uptime and downtime of an uplink since this daemon started: what the dashboard shows as
 * "up 99.2 % of 3 d". Pure: the manager calls `account` at each state change and the view
 * adds the time spent in the current state so far.
 */
import type { UplinkState } from './state.js';

export interface Availability {
  upMs: number;
  downMs: number;
  /** Accounted up to here. */
  mark: number;
}

/** Carrying traffic or able to: up, or degraded (still selectable). */
const UP: ReadonlySet<UplinkState> = new Set(['up', 'degraded']);

export function newAvailability(now: number): Availability {
  return { upMs: 0, downMs: 0, mark: now };
}

/** Books the time since the last mark to `state` (the state the uplink was in until now). */
export function account(a: Availability, state: UplinkState, now: number): void {
  const d = Math.max(0, now - a.mark);
  if (UP.has(state)) a.upMs += d;
  else a.downMs += d;
  a.mark = Math.max(a.mark, now);
}

export function availabilityView(a: Readonly<Availability>, state: UplinkState, now: number) {
  const b = { ...a };
  account(b, state, now);
  const total = b.upMs + b.downMs;
  return {
    upS: Math.round(b.upMs / 100) / 10,
    downS: Math.round(b.downMs / 100) / 10,
    /** Share of the time up; undefined before any time has passed. */
    upPct: total > 0 ? Math.round((b.upMs / total) * 10000) / 100 : undefined,
  };
}
