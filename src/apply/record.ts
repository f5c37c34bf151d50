/**
 * The pending confirmed apply, as kept in STATE_DIR/apply.json (docs/apply.md), and what a
 * starting daemon does with it — pure, table-tested.
 *
 * One file holds both the pending config and the last-good one, so a crash between two writes
 * can never leave a pending apply without the config to roll back to.
 */
import { z } from 'zod';
import type { AdminOverrides } from '../model/admin-overrides.js';

const overridesSchema = z.object({
  forced: z.string().optional(),
  uplinks: z.record(
    z.string(),
    z.object({ adminDown: z.boolean(), adminBlocked: z.boolean(), demandOff: z.boolean() }),
  ),
  jobsStopped: z.array(z.string()).optional(),
}) satisfies z.ZodType<AdminOverrides>;

const recordSchema = z.object({
  version: z.literal(1),
  bootId: z.string().min(1),
  /** The deadline on CLOCK_BOOTTIME (ms). */
  deadlineBootMs: z.number(),
  /** The same moment in wall time, for people (never used to decide). */
  deadline: z.string(),
  seconds: z.number().positive(),
  /** FILE as the admin named it. */
  file: z.string(),
  appliedAt: z.string(),
  /** The bytes the admin sent: what a confirm writes to the config file. */
  pending: z.string(),
  lastGood: z.object({ text: z.string(), overrides: overridesSchema }),
});

export type ApplyRecord = z.infer<typeof recordSchema>;

export const APPLY_FILE = 'apply.json';

/** The record, or undefined for a missing file; a damaged one is reported as such. */
export function parseRecord(text: string | undefined): ApplyRecord | 'damaged' | undefined {
  if (text === undefined) return undefined;
  try {
    const r = recordSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : 'damaged';
  } catch {
    return 'damaged';
  }
}

export type StartDecision =
  | { kind: 'none' }
  | { kind: 'resume'; record: ApplyRecord; leftMs: number }
  | { kind: 'rollback'; record: ApplyRecord; why: string };

/** A daemon restarted in the same boot keeps the countdown; after a reboot or past the deadline, last-good. */
export function decideAtStart(record: ApplyRecord | undefined, bootId: string, nowBootMs: number): StartDecision {
  if (!record) return { kind: 'none' };
  if (record.bootId !== bootId)
    return { kind: 'rollback', record, why: 'the machine rebooted before the apply was confirmed' };
  const leftMs = record.deadlineBootMs - nowBootMs;
  if (leftMs <= 0) return { kind: 'rollback', record, why: 'the confirm deadline passed while uplinkd was down' };
  return { kind: 'resume', record, leftMs };
}
