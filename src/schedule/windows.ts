/**
 * Allow/deny windows, level-triggered: whether an uplink is held now is a pure function of the
 * wall clock in the schedule's time zone, so a daemon started inside a deny window obeys it at
 * once, and a clock step or a missed timer changes nothing but the next look.
 */
import type { ScheduleConfig } from '../config/schema.js';
import { DAYS, parseSpan } from '../config/schema-schedule.js';

const DAY_MIN = 1440;

export interface LocalTime {
  /** 0 = Sunday. */
  day: number;
  /** Minutes since local midnight. */
  minute: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock weekday and minute at `ms` in `timeZone` (DST applied as the zone's rules say). */
export function localTime(ms: number, timeZone: string): LocalTime {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  const day = DAYS.indexOf(String(parts.weekday).slice(0, 3).toLowerCase() as (typeof DAYS)[number]);
  return { day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Inside the window at local time `t`? A window crossing midnight belongs to the day it starts on. */
export function inWindow(span: string, days: readonly string[] | undefined, t: LocalTime): boolean {
  const p = parseSpan(span);
  if (!p) return false;
  const on = (d: number) => !days || days.includes(DAYS[(d + 7) % 7]!);
  if (p.from < p.to) return on(t.day) && t.minute >= p.from && t.minute < p.to;
  return (on(t.day) && t.minute >= p.from) || (on(t.day - 1) && t.minute < p.to % DAY_MIN);
}

/**
 * Uplinks held by a window now, with why: inside any deny window, or outside every allow
 * window when it has some.
 */
export function heldNow(schedule: readonly ScheduleConfig[], t: LocalTime): Map<string, string> {
  const held = new Map<string, string>();
  const allows = new Map<string, { inside: boolean; spans: string[] }>();
  for (const s of schedule) {
    if (!s.uplink) continue;
    if (s.deny !== undefined && inWindow(s.deny, s.days, t) && !held.has(s.uplink))
      held.set(s.uplink, `deny window ${s.deny}${daysText(s.days)}`);
    if (s.allow !== undefined) {
      const a = allows.get(s.uplink) ?? { inside: false, spans: [] };
      a.inside ||= inWindow(s.allow, s.days, t);
      a.spans.push(`${s.allow}${daysText(s.days)}`);
      allows.set(s.uplink, a);
    }
  }
  for (const [name, a] of allows)
    if (!a.inside && !held.has(name)) held.set(name, `outside allow window ${a.spans.join(', ')}`);
  return held;
}

function daysText(days: readonly string[] | undefined): string {
  return days ? ` (${days.join(',')})` : '';
}
