/**
 * The `schedule` section: admin actions at cron moments, and allow/deny windows that hold an
 * uplink's dialing to times of day (docs/schedule.md).
 */
import { z } from 'zod';
import { Cron } from 'croner';
import { hinted } from './errors.js';
import { checked, evenAfterChildErrors } from './types.js';

/** What a cron entry does: the same as the CLI command of that name (`demand_on` is `uplink demand NAME on`). */
export const SCHEDULE_ACTIONS = [
  'up',
  'down',
  'block',
  'unblock',
  'force',
  'unforce',
  'demand_on',
  'demand_off',
] as const;
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

const q = (s: string) => JSON.stringify(s);
const CRON_HINT = 'five fields: minute hour day-of-month month day-of-week, e.g. "30 7 * * 1-5"';

/** Five fields (or @daily and friends), and croner must parse it: "61 * * * *" is caught here, not at 3 am. */
export function checkCron(s: string): string | undefined {
  const t = s.trim();
  if (!/^@(hourly|daily|midnight|weekly|monthly|yearly|annually)$/.test(t)) {
    const fields = t.split(/\s+/);
    if (fields.length !== 5)
      return hinted(`${q(s)} has ${fields.length} field${fields.length === 1 ? '' : 's'}, not 5`, CRON_HINT);
  }
  try {
    new Cron(t, { paused: true, mode: t.startsWith('@') ? 'auto' : '5-part' });
    return undefined;
  } catch (e) {
    return hinted(`${q(s)} is not a valid cron expression: ${(e as Error).message}`, CRON_HINT);
  }
}
export const cronExpr = checked(checkCron);

/** "HH:MM-HH:MM" → minutes of the day; the end may be 24:00. */
export function parseSpan(s: string): { from: number; to: number } | undefined {
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(s);
  if (!m) return undefined;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return undefined;
  return { from: h1 * 60 + m1, to: h2 * 60 + m2 };
}
const span = checked((s) => {
  const p = parseSpan(s);
  if (!p) return hinted(`${q(s)} is not a time span`, 'write "HH:MM-HH:MM" in 24-hour time, e.g. "22:00-06:00"');
  if (p.from === p.to % 1440)
    return hinted(`${q(s)} starts where it ends`, 'a window of the whole day is "00:00-24:00"');
  return undefined;
});

export const scheduleSchema = z
  .strictObject({
    cron: cronExpr
      .optional()
      .describe(
        'When to act, as a 5-field cron expression (minute hour day-of-month month day-of-week), in `timezone`.',
      ),
    action: z
      .enum(SCHEDULE_ACTIONS)
      .optional()
      .describe(
        'With cron: up, down, block, unblock, force, demand_on, demand_off (need uplink) or unforce (takes none); the same as the CLI command.',
      ),
    deny: span
      .optional()
      .describe(
        'A window "HH:MM-HH:MM" (may cross midnight) in which the uplink is held blocked: not dialed, not selected, hung up.',
      ),
    allow: span
      .optional()
      .describe('A window "HH:MM-HH:MM" outside of which the uplink is held blocked (several allow entries add up).'),
    days: z
      .array(z.enum(DAYS))
      .min(1)
      .optional()
      .describe(
        'Days a window starts on (sun..sat; default: every day). A window crossing midnight ends the next day.',
      ),
    uplink: z.string().optional().describe('The uplink acted on or held.'),
  })
  .superRefine((s, ctx) => {
    const bad = (path: string, message: string, hint: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message: hinted(message, hint) });
    const kinds = (['cron', 'deny', 'allow'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1)
      return bad(
        kinds[1] ?? 'cron',
        kinds.length
          ? `a schedule entry has one of cron, deny, allow; this one has ${kinds.join(' and ')}`
          : 'a schedule entry needs cron, deny or allow',
        'write a cron entry ({ cron, action, uplink }) and a window ({ deny: "22:00-06:00", uplink }) as two entries',
      );
    if (s.cron !== undefined) {
      if (s.days) bad('days', 'days belong to windows', 'put the days in the cron expression (its fifth field)');
      if (s.action === undefined)
        return bad('action', 'a cron entry needs an action', `one of ${SCHEDULE_ACTIONS.join(', ')}`);
      // Not an action at all (a map, a list, an unknown word): its own error says so, and what
      // it would need is unknown.
      if (!(SCHEDULE_ACTIONS as readonly unknown[]).includes(s.action)) return;
      if (s.action === 'unforce' && s.uplink !== undefined)
        bad('uplink', 'unforce takes no uplink', 'unforce returns to automatic selection; remove uplink');
      if (s.action !== 'unforce' && s.uplink === undefined)
        bad('uplink', `action ${s.action} needs an uplink`, 'add uplink: NAME');
      return;
    }
    if (s.action !== undefined)
      bad('action', 'a window takes no action', 'a deny window holds the uplink blocked; an action needs cron');
    if (s.uplink === undefined) bad('uplink', 'a window needs an uplink', 'add uplink: NAME');
  }, evenAfterChildErrors)
  .describe('A scheduled action (cron + action) or a window (deny or allow) for an uplink (docs/schedule.md).');
