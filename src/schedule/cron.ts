/** Cron entries: when each fires next, and which are due between two looks at the clock (pure). */
import { Cron } from 'croner';
import type { ScheduleConfig } from '../config/schema.js';

/**
 * A forward jump longer than this (a clock stepped at boot, a suspended machine) fires
 * nothing: scheduled actions are moments, and a moment the daemon did not see is not replayed.
 */
export const MAX_CATCH_UP_MS = 5 * 60_000;

export function cronOf(expr: string, timeZone: string): Cron {
  const t = expr.trim();
  return new Cron(t, { paused: true, timezone: timeZone, mode: t.startsWith('@') ? 'auto' : '5-part' });
}

/** The next moment after `ms` (undefined: never again). */
export function nextRun(c: Cron, ms: number): number | undefined {
  return c.nextRun(new Date(ms))?.getTime();
}

/** Indexes of the cron entries that fire in (from, to]: each at most once per look. */
export function dueBetween(
  schedule: readonly ScheduleConfig[],
  crons: ReadonlyMap<number, Cron>,
  from: number,
  to: number,
): number[] {
  if (to <= from || to - from > MAX_CATCH_UP_MS) return [];
  const due: number[] = [];
  schedule.forEach((_, i) => {
    const c = crons.get(i);
    const at = c && nextRun(c, from);
    if (at !== undefined && at <= to) due.push(i);
  });
  return due;
}
