/**
 * What each updater has announced, and whether it may send now (pure). An address is sent once:
 * an unchanged one is never resent (providers block clients that do), across daemon restarts
 * too (the state is saved); a disabled updater waits for a config change, which gives it a new key.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../lazy.js';
import { z } from 'zod';

export const UPDATERS = ['dyndns', 'rfc2136', 'command'] as const;
export type UpdaterKind = (typeof UPDATERS)[number];

export const updaterStateSchema = z.object({
  /** Hash of the updater's config (and uplink): a change starts it afresh. */
  key: z.string(),
  /** The address the server last accepted. */
  announced: z.string().optional(),
  disabled: z.object({ result: z.string(), message: z.string() }).optional(),
  failures: z.number().int().min(0).default(0),
  nextAt: z.number().optional(),
  last: z
    .object({ address: z.string(), ok: z.boolean(), result: z.string(), at: z.string(), message: z.string() })
    .optional(),
});
export type UpdaterState = z.infer<typeof updaterStateSchema>;
export const announceFileSchema = z.object({
  version: z.literal(1),
  updaters: z.record(z.string(), updaterStateSchema),
});

const crypto = builtin<typeof Crypto>('node:crypto');

/** `secrets`: the values the entry references, so fixing a password in the secrets file is a change too. */
export function updaterKey(uplink: string, kind: UpdaterKind, cfg: unknown, secrets: string[] = []): string {
  return crypto()
    .createHash('sha256')
    .update(JSON.stringify([uplink, kind, cfg, secrets]))
    .digest('hex')
    .slice(0, 16);
}

/** Send now? Not while disabled, not for the address already announced, not before a retry is due. */
export function shouldSend(s: UpdaterState, address: string | undefined, now: number): boolean {
  if (!address || s.disabled || s.announced === address) return false;
  // A new address is worth sending at once; the backoff is for retrying the same one.
  if (s.last && s.last.address !== address) return true;
  return s.nextAt === undefined || now >= s.nextAt;
}

/** `minWaitMs`: the server asked for at least this long before the next try (dyndns2 911/dnserr). */
export type Outcome = { kind: 'ok' | 'fatal' | 'retry'; result: string; message: string; minWaitMs?: number };

export function afterSend(
  s: UpdaterState,
  address: string,
  o: Outcome,
  now: number,
  retry: { backoff: number; max_backoff: number },
): UpdaterState {
  const last = { address, ok: o.kind === 'ok', result: o.result, at: new Date(now).toISOString(), message: o.message };
  if (o.kind === 'ok') return { key: s.key, announced: address, failures: 0, last };
  if (o.kind === 'fatal') return { ...s, disabled: { result: o.result, message: o.message }, nextAt: undefined, last };
  const failures = (s.last?.address === address ? s.failures : 0) + 1;
  const wait = Math.max(Math.min(retry.backoff * 2 ** (failures - 1), retry.max_backoff), o.minWaitMs ?? 0);
  return { ...s, failures, nextAt: now + wait, last };
}
